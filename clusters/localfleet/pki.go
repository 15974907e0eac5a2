package localfleet

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// pki is the fleet's certificate authority and the credentials every cluster shares: one
// serving certificate for 127.0.0.1, one admin client certificate and one admin bearer token
// (both group system:masters), and one service-account signing key. The files live in DIR/pki.
//
// Users, tests and Flotilla get the token, the clusters' own components the certificate. The API
// server verifies a client certificate's signature on every request (about a tenth of its CPU
// in a bulk sync), and looks a static token up in a map; in production a sync agent also
// authenticates with a token (a ServiceAccount's), which the API server caches.
type pki struct {
	CACert, ServingCert, ServingKey, AdminCert, AdminKey, ServiceAccountKey, ServiceAccountPub string
	// TokenFile is the API server's --token-auth-file, holding the admin token.
	TokenFile string

	caPEM, adminCertPEM, adminKeyPEM []byte
	adminToken                       string
}

// adminUser is the admin: the client certificate's common name and the token's user.
const adminUser = "flotilla-admin"

func newPKI(dir string) (*pki, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create pki folder: %w", err)
	}
	p := pkiFiles(dir)
	token := make([]byte, 32)
	if _, err := rand.Read(token); err != nil {
		return nil, fmt.Errorf("make admin token: %w", err)
	}
	p.adminToken = hex.EncodeToString(token)
	now := time.Now().Add(-time.Hour)
	caCert, caKey, err := p.newCA(now)
	if err != nil {
		return nil, err
	}
	servingCert, servingKey, err := signedCert(servingTemplate(now), caCert, caKey)
	if err != nil {
		return nil, fmt.Errorf("create serving certificate: %w", err)
	}
	if p.adminCertPEM, p.adminKeyPEM, err = signedCert(adminTemplate(now), caCert, caKey); err != nil {
		return nil, fmt.Errorf("create admin certificate: %w", err)
	}
	saKey, saPub, err := serviceAccountKeys()
	if err != nil {
		return nil, err
	}
	for path, content := range map[string][]byte{
		p.CACert:            p.caPEM,
		p.ServingCert:       servingCert,
		p.ServingKey:        servingKey,
		p.AdminCert:         p.adminCertPEM,
		p.AdminKey:          p.adminKeyPEM,
		p.ServiceAccountKey: saKey,
		p.ServiceAccountPub: saPub,
		p.TokenFile:         fmt.Appendf(nil, "%s,%s,%s,%q\n", p.adminToken, adminUser, adminUser, "system:masters"),
	} {
		if err := os.WriteFile(path, content, 0o600); err != nil {
			return nil, fmt.Errorf("write %s: %w", path, err)
		}
	}
	return p, nil
}

// pkiFiles names the files of a pki in dir.
func pkiFiles(dir string) *pki {
	return &pki{
		CACert:            filepath.Join(dir, "ca.crt"),
		ServingCert:       filepath.Join(dir, "apiserver.crt"),
		ServingKey:        filepath.Join(dir, "apiserver.key"),
		AdminCert:         filepath.Join(dir, "admin.crt"),
		AdminKey:          filepath.Join(dir, "admin.key"),
		ServiceAccountKey: filepath.Join(dir, "sa.key"),
		ServiceAccountPub: filepath.Join(dir, "sa.pub"),
		TokenFile:         filepath.Join(dir, "tokens.csv"),
	}
}

// newCA makes the fleet's certificate authority, valid from notBefore for ten years, and keeps
// its certificate as PEM.
func (p *pki) newCA(notBefore time.Time) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate CA key: %w", err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "flotilla-localfleet-ca"},
		NotBefore:             notBefore,
		NotAfter:              notBefore.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, nil, fmt.Errorf("create CA certificate: %w", err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, nil, fmt.Errorf("parse CA certificate: %w", err)
	}
	p.caPEM = pemBlock("CERTIFICATE", caDER)
	return caCert, caKey, nil
}

// servingTemplate is the API servers' serving certificate: loopback and the kubernetes Service.
func servingTemplate(notBefore time.Time) *x509.Certificate {
	return &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "kube-apiserver"},
		NotBefore:    notBefore,
		NotAfter:     notBefore.AddDate(10, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback, net.ParseIP(kubernetesServiceIP)},
	}
}

// adminTemplate is the admin's client certificate, in system:masters.
func adminTemplate(notBefore time.Time) *x509.Certificate {
	return &x509.Certificate{
		SerialNumber: big.NewInt(3),
		Subject:      pkix.Name{CommonName: adminUser, Organization: []string{"system:masters"}},
		NotBefore:    notBefore,
		NotAfter:     notBefore.AddDate(10, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
}

// serviceAccountKeys makes the key pair that signs service-account tokens, as PEM.
func serviceAccountKeys() (private, public []byte, err error) {
	saKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate service-account key: %w", err)
	}
	saKeyDER, err := x509.MarshalECPrivateKey(saKey)
	if err != nil {
		return nil, nil, fmt.Errorf("encode service-account key: %w", err)
	}
	saPubDER, err := x509.MarshalPKIXPublicKey(&saKey.PublicKey)
	if err != nil {
		return nil, nil, fmt.Errorf("encode service-account public key: %w", err)
	}
	return pemBlock("EC PRIVATE KEY", saKeyDER), pemBlock("PUBLIC KEY", saPubDER), nil
}

// signedCert creates a fresh key for tmpl and signs it with the CA; it returns both as PEM.
func signedCert(tmpl, ca *x509.Certificate, caKey *ecdsa.PrivateKey) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, nil, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pemBlock("CERTIFICATE", der), pemBlock("EC PRIVATE KEY", keyDER), nil
}

func pemBlock(kind string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der})
}
