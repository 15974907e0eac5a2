package gitserver

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/crypto/ssh"
)

// SSHOptions configure an SSH Git server.
type SSHOptions struct {
	// Root is the folder holding the repositories: ssh://git@HOST/NAME.git is Root/NAME.git.
	Root string
	// AuthorizedKeys are the client public keys allowed in.
	AuthorizedKeys []ssh.PublicKey
}

// SSHServer serves git-upload-pack over SSH on 127.0.0.1, with public-key auth only.
type SSHServer struct {
	// Addr is host:port.
	Addr string
	// HostKey is the server's public host key, for known_hosts.
	HostKey ssh.PublicKey

	ln   net.Listener
	root string
	wg   sync.WaitGroup
}

// StartSSH serves opts.Root over SSH on a free port of 127.0.0.1 with a fresh ed25519 host key.
func StartSSH(opts SSHOptions) (*SSHServer, error) {
	_, hostPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	hostSigner, err := ssh.NewSignerFromKey(hostPriv)
	if err != nil {
		return nil, err
	}
	cfg := &ssh.ServerConfig{
		PublicKeyCallback: func(_ ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			for _, allowed := range opts.AuthorizedKeys {
				if string(allowed.Marshal()) == string(key.Marshal()) {
					return &ssh.Permissions{}, nil
				}
			}
			return nil, errors.New("unknown public key")
		},
	}
	cfg.AddHostKey(hostSigner)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen on 127.0.0.1: %w", err)
	}
	root, err := filepath.Abs(opts.Root)
	if err != nil {
		return nil, err
	}
	s := &SSHServer{Addr: ln.Addr().String(), HostKey: hostSigner.PublicKey(), ln: ln, root: root}
	s.wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Go(func() { s.serve(conn, cfg) })
		}
	})
	return s, nil
}

// RepoURL is the ssh:// URL of Root/NAME.git.
func (s *SSHServer) RepoURL(name string) string { return "ssh://git@" + s.Addr + "/" + name + ".git" }

// KnownHostsLine is the server's known_hosts entry.
func (s *SSHServer) KnownHostsLine() string {
	host, port, _ := net.SplitHostPort(s.Addr)
	return fmt.Sprintf("[%s]:%s %s", host, port, strings.TrimSpace(string(ssh.MarshalAuthorizedKey(s.HostKey))))
}

// Close stops accepting connections and waits for open ones to end.
func (s *SSHServer) Close() error {
	err := s.ln.Close()
	s.wg.Wait()
	return err
}

func (s *SSHServer) serve(conn net.Conn, cfg *ssh.ServerConfig) {
	defer conn.Close()
	_, chans, reqs, err := ssh.NewServerConn(conn, cfg)
	if err != nil {
		return
	}
	go ssh.DiscardRequests(reqs)
	for ch := range chans {
		if ch.ChannelType() != "session" {
			_ = ch.Reject(ssh.UnknownChannelType, "only sessions")
			continue
		}
		channel, requests, err := ch.Accept()
		if err != nil {
			return
		}
		go s.session(channel, requests)
	}
}

// session runs the one command a Git client asks for: git-upload-pack 'PATH'.
func (s *SSHServer) session(channel ssh.Channel, requests <-chan *ssh.Request) {
	defer channel.Close()
	for req := range requests {
		if req.Type != "exec" || len(req.Payload) < 4 {
			_ = req.Reply(false, nil)
			continue
		}
		command := string(req.Payload[4:])
		verb, arg, _ := strings.Cut(command, " ")
		repo := filepath.Join(s.root, filepath.Clean("/"+strings.Trim(arg, "'\"")))
		if verb != "git-upload-pack" || !strings.HasPrefix(repo, s.root+string(filepath.Separator)) {
			_ = req.Reply(false, nil)
			return
		}
		_ = req.Reply(true, nil)
		cmd := exec.Command("git", "upload-pack", repo)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = channel, channel, channel.Stderr()
		status := uint32(0)
		if err := cmd.Run(); err != nil {
			status = 1
		}
		payload := make([]byte, 4)
		binary.BigEndian.PutUint32(payload, status)
		_, _ = channel.SendRequest("exit-status", false, payload)
		return
	}
}
