package server_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flotilla-dev/flotilla/server"
)

// quiet is a logger that drops everything.
var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// TestListenAddress checks which listen addresses New accepts: loopback always, any other only
// with TLS or AllowInsecureNonLoopback. Nothing listens here.
func TestListenAddress(t *testing.T) {
	cert, key := selfSigned(t)
	tests := []struct {
		listen   string
		insecure bool
		tls      bool
		err      string
	}{
		{"", false, false, ""}, // the default, 127.0.0.1:7070
		{"127.0.0.1:7070", false, false, ""},
		{"127.0.0.5:7070", false, false, ""},
		{"[::1]:7070", false, false, ""},
		{"localhost:7070", false, false, ""},
		{"0.0.0.0:7070", false, false, "refusing to listen on 0.0.0.0:7070 without TLS"},
		{":7070", false, false, "refusing to listen on :7070 without TLS"},
		{"[::]:7070", false, false, "without TLS"},
		{"192.0.2.10:7070", false, false, "without TLS"},
		{"agent.example.com:7070", false, false, "without TLS"},
		{"0.0.0.0:7070", true, false, ""},
		{"0.0.0.0:7070", false, true, ""},
		{"127.0.0.1", false, false, "missing port"},
	}
	for _, tt := range tests {
		t.Run(tt.listen, func(t *testing.T) {
			opts := server.Options{Agent: newFakeAgent(), Listen: tt.listen, AllowInsecureNonLoopback: tt.insecure, Logger: quiet}
			if tt.tls {
				opts.TLSCertFile, opts.TLSKeyFile = cert, key
			}
			_, err := server.New(opts)
			if tt.err == "" && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) {
				t.Fatalf("error %v, want one holding %q", err, tt.err)
			}
		})
	}
}

// TestNewRefuses checks the other options New refuses.
func TestNewRefuses(t *testing.T) {
	cert, _ := selfSigned(t)
	tests := []struct {
		name string
		opts server.Options
		err  string
	}{
		{"no agent", server.Options{}, "no Agent"},
		{"cert without key", server.Options{Agent: newFakeAgent(), TLSCertFile: cert}, "both a certificate file and a key file"},
		{"key is not a key", server.Options{Agent: newFakeAgent(), TLSCertFile: cert, TLSKeyFile: cert}, "load TLS certificate"},
		{"bad role", server.Options{Agent: newFakeAgent(), Tokens: []server.Token{{Role: "admin", Name: "x", Secret: "0123456789abcdef"}}}, `role "admin"`},
		{"empty secret", server.Options{Agent: newFakeAgent(), Tokens: []server.Token{{Role: server.RoleViewer, Name: "x"}}}, "empty secret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Logger = quiet
			if _, err := server.New(tt.opts); err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("error %v, want one holding %q", err, tt.err)
			}
		})
	}
}

// fakeListener is a listener that says it is on addr; it accepts nothing.
type fakeListener struct {
	addr   net.Addr
	closed chan struct{}
}

func (l *fakeListener) Accept() (net.Conn, error) { <-l.closed; return nil, net.ErrClosed }
func (l *fakeListener) Close() error              { close(l.closed); return nil }
func (l *fakeListener) Addr() net.Addr            { return l.addr }

// TestServeRefusesNonLoopbackListener checks that Serve, too, refuses a listener on an address
// that is not loopback without TLS, and closes it.
func TestServeRefusesNonLoopbackListener(t *testing.T) {
	srv, err := server.New(server.Options{Agent: newFakeAgent(), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	l := &fakeListener{addr: &net.TCPAddr{IP: net.ParseIP("192.0.2.10"), Port: 7070}, closed: make(chan struct{})}
	err = srv.Serve(t.Context(), l)
	if err == nil || !strings.Contains(err.Error(), "refusing to serve on 192.0.2.10:7070 without TLS") {
		t.Fatalf("error %v, want a refusal", err)
	}
	select {
	case <-l.closed:
	default:
		t.Error("the listener was left open")
	}
}

// serve runs srv on a fresh 127.0.0.1 port until the returned stop is called, which returns
// Serve's error.
func serve(t *testing.T, srv *server.Server) (addr string, stop func() error) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, l) }()
	stopped := false
	stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(15 * time.Second):
			return errors.New("Serve did not return after its context ended")
		}
	}
	t.Cleanup(func() { stop() })
	return l.Addr().String(), stop
}

// TestServeShutsDown serves on loopback, answers /healthz, and returns nil once its context
// ends; nothing listens afterwards.
func TestServeShutsDown(t *testing.T) {
	srv, err := server.New(server.Options{Agent: newFakeAgent(), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	addr, stop := serve(t, srv)
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz: status %d, want 200", resp.StatusCode)
	}
	if err := stop(); err != nil {
		t.Errorf("Serve: %v", err)
	}
	if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		conn.Close()
		t.Error("still listening after shutdown")
	}
}

// TestServeTLS serves HTTPS with a certificate from files; plain HTTP gets no API answer.
func TestServeTLS(t *testing.T) {
	certFile, keyFile := selfSigned(t)
	srv, err := server.New(server.Options{Agent: newFakeAgent(), TLSCertFile: certFile, TLSKeyFile: keyFile, Logger: quiet,
		Tokens: []server.Token{{Role: server.RoleViewer, Name: "v", Secret: viewerToken}}})
	if err != nil {
		t.Fatal(err)
	}
	addr, stop := serve(t, srv)
	pemCert, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pemCert)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	req, _ := http.NewRequest("GET", "https://"+addr+"/api/v1/apps", nil)
	req.Header.Set("Authorization", "Bearer "+viewerToken)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("HTTPS GET /api/v1/apps: status %d, want 200", resp.StatusCode)
	}
	if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Error("plain HTTP was served")
		}
	}
	client.CloseIdleConnections()
	if err := stop(); err != nil {
		t.Errorf("Serve: %v", err)
	}
}

// selfSigned writes a self-signed certificate for 127.0.0.1 and its key, and returns their
// files.
func selfSigned(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "flotilla test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	writeFile(t, certFile, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})), 0o644)
	writeFile(t, keyFile, string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})), 0o600)
	return certFile, keyFile
}
