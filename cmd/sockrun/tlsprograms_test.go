package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"strings"
	"time"
)

// tlsClient is a client program under test that speaks TLS: tlsclient
// ADDR CAFILE MESSAGE connects to ADDR, trusting only the CAs in CAFILE
// (as a client given {{NAME.ca}} would), sends MESSAGE and a newline,
// and prints the line that comes back. A failed handshake says why and
// exits 1. SERVER_NAME, if set, is the name it asks for and verifies.
func tlsClient() {
	if len(os.Args) != 4 {
		die("usage: tlsclient ADDR CAFILE MESSAGE")
	}
	pem, err := os.ReadFile(os.Args[2])
	if err != nil {
		die("ca: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		die("ca: %s holds no certificate", os.Args[2])
	}
	host, _, _ := net.SplitHostPort(os.Args[1])
	if name := os.Getenv("SERVER_NAME"); name != "" {
		host = name
	}
	cfg := &tls.Config{RootCAs: pool, ServerName: host}
	d := &net.Dialer{Timeout: 2 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", os.Args[1], cfg)
	if err != nil {
		die("tls: %v", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	fmt.Fprintf(c, "%s\n", os.Args[3])
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		die("read: %v", err)
	}
	fmt.Print(line)
}

// tlsServer is a server program under test that speaks TLS: tlsserver
// PORT CERT KEY serves a TLS echo on PORT with the certificate and key in
// the PEM files CERT and KEY (as sockrun makes them for {{NAME.cert}}
// and {{NAME.key}}). With -bug shout it answers in capitals.
func tlsServer() {
	if len(os.Args) < 4 {
		die("usage: tlsserver PORT CERT KEY [-bug NAME]")
	}
	cert, err := tls.LoadX509KeyPair(os.Args[2], os.Args[3])
	if err != nil {
		die("certificate: %v", err)
	}
	bug := ""
	if len(os.Args) > 5 && os.Args[4] == "-bug" {
		bug = os.Args[5]
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:"+os.Args[1], &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		die("bind: %v", err)
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			die("accept: %v", err)
		}
		go func() {
			defer c.Close()
			r := bufio.NewReader(c)
			for {
				line, err := r.ReadString('\n')
				if bug == "shout" {
					line = strings.ToUpper(line)
				}
				if _, werr := c.Write([]byte(line)); err != nil || werr != nil {
					return
				}
			}
		}()
	}
}
