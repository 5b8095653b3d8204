package runner

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// A program under test is its whole process tree: the leader sockrun
// started and every process descended from it, wherever it went. The
// rule for its end, the same whatever the length of the test:
//
//   - While the leader runs, the program runs.
//   - A leader that exits 0 while another process of the program serves
//     (holds the socket sockrun found it serving on) has daemonized: that
//     is accepted, and the program runs until nothing of it serves. So
//     does one that exits 0 while sockrun still waits for the program to
//     serve: what it left behind may yet serve.
//   - Otherwise, a leader that exits has ended the program, with the
//     leader's status. Any other process of it still running has been
//     left behind: sockrun names it and ends it.
//
// done is closed once every process of it has ended and been reaped.

// A member is one process of a program.
type member struct {
	pid   int
	start uint64
	pgrp  int
	comm  string
}

// members returns the processes of the program that have not ended.
func (p *proc) members() []member {
	if p.cgroup != "" {
		b, _ := os.ReadFile(filepath.Join(p.cgroup, "cgroup.procs"))
		var ms []member
		for _, f := range strings.Fields(string(b)) {
			pid, _ := strconv.Atoi(f)
			if st, ok := readStat(pid, 0); ok && !st.gone() {
				ms = append(ms, member{pid: pid, start: st.start, pgrp: st.pgrp, comm: st.comm})
			}
		}
		return ms
	}
	return p.scan()
}

// scan finds the program's processes without a cgroup: those seen before
// that still run, the orphans handed to sockrun that carry the program's
// markers, and the descendants of all of these. A process that both
// escapes before sockrun looks and clears its environment is missed
// (a cgroup has no such gap).
func (p *proc) scan() []member {
	p.mu.Lock()
	defer p.mu.Unlock()
	var queue, ms []member
	for pid, start := range p.known {
		st, ok := readStat(pid, 0)
		switch {
		case !ok || st.start != start:
			delete(p.known, pid)
		case !st.gone():
			queue = append(queue, member{pid, start, st.pgrp, st.comm})
		}
	}
	if len(p.markers) > 0 {
		for _, kid := range children(os.Getpid()) {
			if _, ok := p.known[kid]; ok || p.k.isLeader(kid) {
				continue
			}
			for _, m := range p.markers {
				if environHas(kid, m) {
					if st, ok := readStat(kid, 0); ok && !st.gone() {
						p.known[kid] = st.start
						queue = append(queue, member{kid, st.start, st.pgrp, st.comm})
					}
					break
				}
			}
		}
	}
	for len(queue) > 0 {
		m := queue[0]
		queue = queue[1:]
		ms = append(ms, m)
		for _, kid := range children(m.pid) {
			if _, ok := p.known[kid]; ok {
				continue
			}
			if st, ok := readStat(kid, 0); ok {
				p.known[kid] = st.start
				if !st.gone() {
					queue = append(queue, member{kid, st.start, st.pgrp, st.comm})
				}
			}
		}
	}
	return ms
}

// knows reports whether process pid, started at start, was seen as part
// of the program (without a cgroup).
func (p *proc) knows(pid int, start uint64) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	s, ok := p.known[pid]
	return ok && s == start
}

func (k *keeper) isLeader(pid int) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.leaders[pid]
}

// orphanReaped records how a process of the program that sockrun reaped
// ended.
func (p *proc) orphanReaped(pid int, comm string, ws syscall.WaitStatus) {
	p.mu.Lock()
	p.reaped[pid] = orphanEnd{comm, ws}
	delete(p.known, pid)
	p.mu.Unlock()
}

// servingNow returns the running processes of the program that hold a
// socket serving its address, once it has served.
func (p *proc) servingNow() []member {
	p.mu.Lock()
	t := p.target
	p.mu.Unlock()
	if t == nil {
		return nil
	}
	socks, err := t.sockets()
	if err != nil || len(socks) == 0 {
		return nil
	}
	inodes := map[uint32]bool{}
	for _, s := range socks {
		inodes[s.inode] = true
	}
	var out []member
	for _, m := range p.members() {
		if running(m.pid, m.start) && socketInodes(m.pid, func(ino uint32) bool { return inodes[ino] }) {
			out = append(out, m)
		}
	}
	return out
}

// changed is called whenever something of the program may have ended:
// its leader, an orphan, a process that served, its cgroup's population.
// It applies the rule above, and closes done once all has ended.
func (p *proc) changed() {
	p.eval.Lock()
	defer p.eval.Unlock()
	p.mu.Lock()
	finished, leaderGone, ended := p.finished, p.state != nil, p.ended
	ok := p.state != nil && p.state.Success()
	readying, stopping := p.readying, p.stopping
	p.mu.Unlock()
	if finished || !leaderGone {
		return
	}
	if !ended && !stopping {
		if ok {
			if serving := p.servingNow(); len(serving) > 0 {
				p.mu.Lock()
				p.daemon = true
				for _, m := range serving {
					p.holders[m.pid] = true
					if p.watching[m.pid] == nil {
						p.watching[m.pid] = watchExit(m.pid, m.start, p.changed)
					}
				}
				p.mu.Unlock()
				return
			}
			if readying && len(p.members()) > 0 {
				return
			}
		}
		p.mu.Lock()
		p.ended = true
		p.mu.Unlock()
		go p.endRest()
		return
	}
	if p.empty() {
		p.finish()
	}
}

// empty reports whether no process of the program is left running.
func (p *proc) empty() bool {
	if p.cgroup != "" {
		return !cgroupPopulated(p.cgroup)
	}
	return len(p.scan()) == 0
}

// endRest names the processes of the program still running as left
// behind, and kills them. Without a cgroup it looks again after each
// round, for children forked meanwhile, which a killed process can no
// longer add to.
func (p *proc) endRest() {
	p.mu.Lock()
	p.ended = true
	p.mu.Unlock()
	for round := 0; ; round++ {
		ms := p.members()
		var alive []member
		for _, m := range ms {
			if running(m.pid, m.start) {
				alive = append(alive, m)
			}
		}
		if round == 0 {
			p.mu.Lock()
			for _, m := range alive {
				if m.pid != p.pid {
					p.left = append(p.left, fmt.Sprintf("pid %d (%s)", m.pid, m.comm))
				}
			}
			p.mu.Unlock()
		}
		if len(alive) == 0 || round == 100 {
			break
		}
		if p.cgroup != "" {
			os.WriteFile(filepath.Join(p.cgroup, "cgroup.kill"), []byte("1"), 0)
			break // the kernel ends them all, and the event says so
		}
		left := make(chan struct{}, len(alive))
		var stops []func()
		for _, m := range alive {
			syscall.Kill(m.pid, syscall.SIGKILL)
			stops = append(stops, watchExit(m.pid, m.start, func() { left <- struct{}{} }))
		}
		t := time.NewTimer(time.Second)
		for range alive {
			select {
			case <-left:
			case <-t.C:
			}
		}
		t.Stop()
		for _, s := range stops {
			s()
		}
	}
	p.changed()
}

// finish closes done, once the output has been read to its end: at
// once, unless a process outside the program holds the pipes (one it
// passed them to), in which case they are closed after a second. Its
// cgroup and private directory are removed after done is closed, off the
// path of the test that waits for it; settle waits for that.
func (p *proc) finish() {
	p.mu.Lock()
	p.finished = true
	for _, stop := range p.watching {
		stop()
	}
	p.mu.Unlock()
	if p.cgroup != "" {
		p.k.unwatch(p)
	}
	go func() {
		read := make(chan struct{})
		go func() {
			p.readers.Wait()
			close(read)
		}()
		t := time.NewTimer(time.Second)
		select {
		case <-read:
		case <-t.C:
		}
		t.Stop()
		closeAll(p.pipes...)
		<-read
		p.k.remove(p)
		p.k.cleanup(func() {
			if p.cgroup != "" {
				removeCgroup(p.cgroup)
			}
			p.sb.remove()
		})
		close(p.done)
	}()
}

// leftNotes says what a program left behind, for a test's notes.
func leftNotes(who string, left []string) []string {
	var notes []string
	for _, l := range left {
		notes = append(notes, who+" left a background process: "+l+"; ended")
	}
	return notes
}

// dying reports, without waiting, whether the program is dying or dead:
// its leader has exited or is being ended by the kernel, and no process
// of it that is not itself being ended serves. A connection to it that
// closes or resets because it died sees this true (the kernel marks a
// process as exiting before it closes its sockets); then done is closed
// soon, and exitError says how it ended. A program that closed the
// connection and runs on is not dying.
func (p *proc) dying() bool {
	if p.exited() {
		return true
	}
	select {
	case <-p.leaderGone:
	default:
		if running(p.pid, p.born) {
			return false
		}
	}
	return len(p.servingNow()) == 0
}
