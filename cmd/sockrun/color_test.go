package main

import (
	"bytes"
	"os"
	"strconv"
	"syscall"
	"testing"
	"unsafe"
)

// openPTY opens a pseudo-terminal and returns its terminal side.
func openPTY(t *testing.T) *os.File {
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Skip("no /dev/ptmx:", err)
	}
	t.Cleanup(func() { master.Close() })
	var n uint32
	unlock := int32(0)
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, master.Fd(), syscall.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock))); e != 0 {
		t.Skip("TIOCSPTLCK:", e)
	}
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, master.Fd(), syscall.TIOCGPTN, uintptr(unsafe.Pointer(&n))); e != 0 {
		t.Skip("TIOCGPTN:", e)
	}
	tty, err := os.OpenFile("/dev/pts/"+strconv.Itoa(int(n)), os.O_RDWR, 0)
	if err != nil {
		t.Skip("open pts:", err)
	}
	t.Cleanup(func() { tty.Close() })
	return tty
}

// TestColorOnlyOnATerminal: colour on a terminal, never in a pipe or a
// file, and never when NO_COLOR is set.
func TestColorOnlyOnATerminal(t *testing.T) {
	t.Setenv("NO_COLOR", "")
	t.Setenv("TERM", "xterm")
	tty := openPTY(t)
	if !colorful(tty) {
		t.Error("a terminal gets no colour")
	}
	if colorful(&bytes.Buffer{}) {
		t.Error("a buffer gets colour")
	}
	f, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if colorful(f) {
		t.Error("a file gets colour")
	}
	t.Setenv("NO_COLOR", "1")
	if colorful(tty) {
		t.Error("NO_COLOR is set, yet a terminal gets colour")
	}
}
