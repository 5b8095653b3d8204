package runner

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"syscall"
)

// Readiness asks the kernel, over NETLINK_SOCK_DIAG, for the sockets that
// could serve an address, rather than reading /proc/net/tcp: for that file
// the kernel walks every socket on the machine, TIME_WAIT included, which
// made readiness cost 9x a program's start on a busy grader, and 79x with
// 15k connections in TIME_WAIT. A query for listening TCP sockets walks only
// the listening hash; one for UDP walks only UDP sockets.

// A sockInfo is one socket as sock_diag reports it.
type sockInfo struct {
	inode  uint32
	stream bool       // SOCK_STREAM (TCP or Unix stream)
	addr   netip.Addr // the local address (TCP and UDP)
	port   int        // the local port (TCP and UDP)
	v6only bool       // an AF_INET6 socket with IPV6_V6ONLY
	path   string     // the bound path (Unix); "@name" for an abstract name
	vfsIno uint64     // the inode of a Unix socket's file, 0 if none
	vfsDev uint64     // its device, in stat's encoding
}

// String says where the socket listens, as a report shows it.
func (s sockInfo) String() string {
	if s.path != "" || !s.addr.IsValid() {
		return s.path
	}
	return netip.AddrPortFrom(s.addr, uint16(s.port)).String()
}

// Netlink and sock_diag constants (linux/netlink.h, linux/sock_diag.h,
// linux/inet_diag.h, linux/unix_diag.h).
const (
	nlmsgHdrLen       = 16
	nlmDone           = 3
	nlmError          = 2
	nlmFRequest       = 0x1
	nlmFDump          = 0x300
	sockDiagByFamily  = 20
	inetDiagReqLen    = 56 // struct inet_diag_req_v2
	inetDiagMsgLen    = 72 // struct inet_diag_msg
	inetDiagBytecode  = 1  // INET_DIAG_REQ_BYTECODE
	inetDiagSkV6Only  = 11 // INET_DIAG_SKV6ONLY
	inetDiagBcSGE     = 2  // INET_DIAG_BC_S_GE
	inetDiagBcSLE     = 3  // INET_DIAG_BC_S_LE
	unixDiagReqLen    = 24 // struct unix_diag_req
	unixDiagMsgLen    = 16 // struct unix_diag_msg
	unixDiagName      = 0  // UNIX_DIAG_NAME
	unixDiagVFS       = 1  // UNIX_DIAG_VFS
	udiagShowName     = 0x1
	udiagShowVFS      = 0x2
	tcpListen         = 10 // TCP_LISTEN, also a listening Unix socket's state
	tcpfListen        = 1 << tcpListen
	allStates         = 0xffffffff
	sockDiagRecvBytes = 32 << 10
)

// diagInet returns the TCP sockets in LISTEN (stream) or the bound UDP
// sockets (not stream) of both address families; with port > 0 only those
// on that port, filtered in the kernel.
func diagInet(stream bool, port int) ([]sockInfo, error) {
	proto, states := uint8(syscall.IPPROTO_UDP), uint32(allStates)
	if stream {
		proto, states = syscall.IPPROTO_TCP, tcpfListen
	}
	var all []sockInfo
	for _, family := range []uint8{syscall.AF_INET, syscall.AF_INET6} {
		req := make([]byte, inetDiagReqLen)
		req[0], req[1] = family, proto
		binary.NativeEndian.PutUint32(req[4:], states)
		if port > 0 {
			req = append(req, portFilter(port)...)
		}
		err := sockDiag(req, func(msg []byte) {
			if s, ok := parseInetDiag(msg, stream); ok && (stream || s.port != 0) {
				all = append(all, s)
			}
		})
		if err != nil && !(family == syscall.AF_INET6 && errors.Is(err, syscall.ENOENT)) {
			return nil, err // (a kernel without IPv6 has no AF_INET6 handler)
		}
	}
	return all, nil
}

// portFilter is an INET_DIAG_REQ_BYTECODE attribute that keeps the
// sockets whose local port is port: "sport >= port && sport <= port". A
// jump past the end of the program rejects; reaching its end accepts.
// (INET_DIAG_BC_S_EQ would be shorter, but kernels before 4.17 lack it.)
func portFilter(port int) []byte {
	const opLen = 8 // an op and the op that carries its port
	prog := make([]byte, 2*opLen)
	op := func(at int, code uint8, yes, no uint16) {
		prog[at] = code
		prog[at+1] = uint8(yes)
		binary.NativeEndian.PutUint16(prog[at+2:], no)
		binary.NativeEndian.PutUint16(prog[at+6:], uint16(port))
	}
	op(0, inetDiagBcSGE, opLen, uint16(len(prog)+4))
	op(opLen, inetDiagBcSLE, opLen, uint16(len(prog)-opLen+4))
	attr := make([]byte, 4, 4+len(prog))
	binary.NativeEndian.PutUint16(attr[0:], uint16(4+len(prog)))
	binary.NativeEndian.PutUint16(attr[2:], inetDiagBytecode)
	return append(attr, prog...)
}

func parseInetDiag(msg []byte, stream bool) (sockInfo, bool) {
	if len(msg) < inetDiagMsgLen {
		return sockInfo{}, false
	}
	s := sockInfo{stream: stream, inode: binary.NativeEndian.Uint32(msg[68:])}
	// struct inet_diag_sockid starts at 4: sport, dport (big-endian), src[4], dst[4].
	s.port = int(binary.BigEndian.Uint16(msg[4:]))
	if msg[0] == syscall.AF_INET {
		s.addr = netip.AddrFrom4([4]byte(msg[8:12]))
	} else {
		s.addr = netip.AddrFrom16([16]byte(msg[8:24]))
	}
	attrs(msg[inetDiagMsgLen:], func(typ uint16, val []byte) {
		if typ == inetDiagSkV6Only && len(val) > 0 {
			s.v6only = val[0] != 0
		}
	})
	return s, true
}

// diagUnix returns the Unix sockets that are listening (stream) or bound
// to a name (datagram).
func diagUnix(stream bool) ([]sockInfo, error) {
	req := make([]byte, unixDiagReqLen)
	req[0] = syscall.AF_UNIX
	states := uint32(allStates)
	if stream {
		states = tcpfListen
	}
	binary.NativeEndian.PutUint32(req[4:], states)
	binary.NativeEndian.PutUint32(req[12:], udiagShowName|udiagShowVFS)
	var all []sockInfo
	err := sockDiag(req, func(msg []byte) {
		if len(msg) < unixDiagMsgLen {
			return
		}
		typ := msg[1]
		if (typ == syscall.SOCK_STREAM) != stream || (stream && msg[2] != tcpListen) {
			return
		}
		s := sockInfo{stream: stream, inode: binary.NativeEndian.Uint32(msg[4:])}
		attrs(msg[unixDiagMsgLen:], func(t uint16, val []byte) {
			switch {
			case t == unixDiagName && len(val) > 0:
				if val[0] == 0 {
					s.path = "@" + string(val[1:])
				} else {
					// Many bind() a length that counts the final NUL.
					s.path = strings.TrimRight(string(val), "\x00")
				}
			case t == unixDiagVFS && len(val) >= 8:
				s.vfsIno = uint64(binary.NativeEndian.Uint32(val))
				s.vfsDev = userDev(binary.NativeEndian.Uint32(val[4:]))
			}
		})
		if s.path != "" {
			all = append(all, s)
		}
	})
	return all, err
}

// userDev converts a kernel-internal dev_t (major<<20 | minor), which
// UNIX_DIAG_VFS reports, to the encoding stat(2) returns.
func userDev(k uint32) uint64 {
	major, minor := uint64(k>>20), uint64(k&0xfffff)
	return minor&0xff | major<<8 | (minor&^0xff)<<12
}

// attrs calls f for each netlink attribute (struct rtattr) in b.
func attrs(b []byte, f func(typ uint16, val []byte)) {
	for len(b) >= 4 {
		n := int(binary.NativeEndian.Uint16(b))
		if n < 4 || n > len(b) {
			return
		}
		f(binary.NativeEndian.Uint16(b[2:]), b[4:n])
		b = b[min(align4(n), len(b)):]
	}
}

func align4(n int) int { return (n + 3) &^ 3 }

// sockDiag sends one SOCK_DIAG_BY_FAMILY dump request and calls f with
// the payload of each message of the answer.
func sockDiag(req []byte, f func(msg []byte)) error {
	fd, err := syscall.Socket(syscall.AF_NETLINK, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, syscall.NETLINK_INET_DIAG)
	if err != nil {
		return os.NewSyscallError("socket(NETLINK_SOCK_DIAG)", err)
	}
	defer syscall.Close(fd)
	msg := make([]byte, nlmsgHdrLen, nlmsgHdrLen+len(req))
	binary.NativeEndian.PutUint32(msg[0:], uint32(nlmsgHdrLen+len(req)))
	binary.NativeEndian.PutUint16(msg[4:], sockDiagByFamily)
	binary.NativeEndian.PutUint16(msg[6:], nlmFRequest|nlmFDump)
	binary.NativeEndian.PutUint32(msg[8:], 1) // sequence number
	msg = append(msg, req...)
	if err := syscall.Sendto(fd, msg, 0, &syscall.SockaddrNetlink{Family: syscall.AF_NETLINK}); err != nil {
		return os.NewSyscallError("sendto(NETLINK_SOCK_DIAG)", err)
	}
	buf := make([]byte, sockDiagRecvBytes)
	for {
		n, _, err := syscall.Recvfrom(fd, buf, 0)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return os.NewSyscallError("recvfrom(NETLINK_SOCK_DIAG)", err)
		}
		for b := buf[:n]; len(b) >= nlmsgHdrLen; {
			size := int(binary.NativeEndian.Uint32(b))
			if size < nlmsgHdrLen || size > len(b) {
				return fmt.Errorf("sock_diag: a malformed message of %d bytes", size)
			}
			switch binary.NativeEndian.Uint16(b[4:]) {
			case nlmDone:
				return nil
			case nlmError:
				if size >= nlmsgHdrLen+4 {
					if e := int32(binary.NativeEndian.Uint32(b[nlmsgHdrLen:])); e != 0 {
						return os.NewSyscallError("sock_diag", syscall.Errno(-e))
					}
				}
				return nil
			default:
				f(b[nlmsgHdrLen:size])
			}
			b = b[min(align4(size), len(b)):]
		}
	}
}
