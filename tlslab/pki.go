package tlslab

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"net"
	"time"
)

// ServerName is the name Alice asks for in every TLS scenario, whichever
// node the network routes her to. Bob's certificate is issued for it, and so
// is every certificate Mallory presents: an attacker always claims the
// victim's name.
const ServerName = "bob.lab"

// Validity of the lab's certificates. They are made at run time and live
// only as long as one run, so a day is plenty; NotBefore is an hour back to
// tolerate a clock that is a little off.
const (
	certBackdate = time.Hour
	certLifetime = 24 * time.Hour
)

// NewKey returns a fresh ECDSA P-256 key. The lab's certificates use P-256
// rather than Ed25519 because every browser accepts P-256 certificates, so a
// reader can reproduce each scenario with a real browser and mkcert.
func NewKey() (*ecdsa.PrivateKey, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("tlslab: generate key: %w", err)
	}
	return k, nil
}

// CA is a certificate authority made by the lab at start: a self-signed
// root certificate and its key. No key is ever written to disk.
type CA struct {
	Certificate *x509.Certificate
	key         crypto.Signer
}

// NewCA makes a fresh root CA called commonName.
func NewCA(commonName string) (*CA, error) {
	key, err := NewKey()
	if err != nil {
		return nil, err
	}
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: commonName, Organization: []string{"mitmlab"}},
		NotBefore:             now.Add(-certBackdate),
		NotAfter:              now.Add(certLifetime),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true, // it signs leaves only
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("tlslab: create CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("tlslab: parse CA certificate: %w", err)
	}
	return &CA{Certificate: cert, key: key}, nil
}

// Pool returns a certificate pool that holds the CA alone: a trust store
// for a client that trusts this CA and nothing else.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Certificate)
	return p
}

// Issue signs a server certificate for key, valid for names (DNS names or IP
// addresses), and returns it with the CA's certificate as the chain.
//
// The CA signs whatever it is asked to. The lab uses that to play a
// compromised or mis-issuing CA (the SEED PKI lab's task 6): the same call
// that gives Bob his certificate gives Mallory one for Bob's name.
func (ca *CA) Issue(key crypto.Signer, names ...string) (tls.Certificate, error) {
	return issue(key, ca.Certificate, ca.key, names)
}

// SelfSigned returns a certificate for names signed by key itself, as a
// developer (or an attacker) makes with `openssl req -x509`. No client
// trusts it unless told to skip verification.
func SelfSigned(key crypto.Signer, names ...string) (tls.Certificate, error) {
	return issue(key, nil, key, names)
}

// issue signs a leaf for key; a nil parent makes it self-signed.
func issue(key crypto.Signer, parent *x509.Certificate, parentKey crypto.Signer, names []string) (tls.Certificate, error) {
	if key == nil {
		return tls.Certificate{}, errors.New("tlslab: issue: no key")
	}
	if len(names) == 0 {
		return tls.Certificate{}, errors.New("tlslab: issue: no names")
	}
	serial, err := newSerial()
	if err != nil {
		return tls.Certificate{}, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: names[0]},
		NotBefore:             now.Add(-certBackdate),
		NotAfter:              now.Add(certLifetime),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), parentKey)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("tlslab: create certificate for %q: %w", names, err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("tlslab: parse certificate: %w", err)
	}
	chain := [][]byte{der}
	if parent != tmpl {
		chain = append(chain, parent.Raw)
	}
	return tls.Certificate{Certificate: chain, PrivateKey: key, Leaf: leaf}, nil
}

func newSerial() (*big.Int, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("tlslab: certificate serial: %w", err)
	}
	return serial, nil
}

// Pin returns the SPKI pin of a certificate, "sha256/BASE64" of SHA-256
// over its SubjectPublicKeyInfo (RFC 7469 §2.4), the same form pinned-ecdh
// uses.
func Pin(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return "sha256/" + base64.StdEncoding.EncodeToString(sum[:])
}
