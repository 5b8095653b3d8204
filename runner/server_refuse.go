package runner

import (
	"fmt"
	"net"
	"syscall"
)

// bindOnly binds a stream socket to a and never listens on it: the address
// is taken, so nothing else gets it, and every connection to it is
// refused. It is behaviour refuse: a port where "nobody is listening",
// which a test of a client's error handling needs.
func bindOnly(a Addr) (Addr, func(), error) {
	var sa syscall.Sockaddr
	family := syscall.AF_UNIX
	switch {
	case a.Path != "":
		sa = &syscall.SockaddrUnix{Name: a.Path}
	default:
		ip := net.ParseIP(a.Host)
		if ip == nil {
			ips, err := net.LookupIP(a.Host)
			if err != nil || len(ips) == 0 {
				return a, nil, fmt.Errorf("host %s: %v", a.Host, err)
			}
			ip = ips[0]
		}
		if ip4 := ip.To4(); ip4 != nil {
			family = syscall.AF_INET
			s4 := &syscall.SockaddrInet4{Port: a.Port}
			copy(s4.Addr[:], ip4)
			sa = s4
		} else {
			family = syscall.AF_INET6
			s6 := &syscall.SockaddrInet6{Port: a.Port}
			copy(s6.Addr[:], ip.To16())
			sa = s6
		}
	}
	fd, err := syscall.Socket(family, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return a, nil, err
	}
	if family != syscall.AF_UNIX {
		syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1)
	}
	if err := syscall.Bind(fd, sa); err != nil {
		syscall.Close(fd)
		return a, nil, fmt.Errorf("bind %s: %w", a, err)
	}
	got, err := syscall.Getsockname(fd)
	if err != nil {
		syscall.Close(fd)
		return a, nil, err
	}
	switch v := got.(type) {
	case *syscall.SockaddrInet4:
		a.Port = v.Port
	case *syscall.SockaddrInet6:
		a.Port = v.Port
	}
	return a, func() { syscall.Close(fd) }, nil
}
