package pki

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrNoCertificate is returned by [Describe] when its input holds no PEM
// certificate, or one that does not parse.
var ErrNoCertificate = errors.New("pki: no PEM certificate")

// Describe renders what `pki show` prints for a PEM certificate. The format
// is one "Field: value" line per field, values aligned, always in this order:
//
//	Subject:          CN=member-1
//	Issuer:           CN=Larch CA
//	Serial:           5d:0b:…:9e (hex bytes, colon-separated)
//	Not before:       2025-01-02T03:04:05Z (RFC 3339, UTC)
//	Not after:        2026-01-02T03:04:05Z
//	CA:               false
//	Public key:       ECDSA P-256 | RSA 2048 | Ed25519
//	DNS names:        localhost, member-1.example.com
//	IP addresses:     127.0.0.1, ::1
//	Key usages:       digital signature, key encipherment
//	Ext key usages:   server auth, client auth
//	SHA-256:          AB:CD:… (of the DER bytes, as openssl prints it)
//
// Names are RFC 2253 strings; lists are comma-separated, "-" when empty; usage
// names are cfssl's; an extended key usage Go does not name is its OID. Two
// lines are added after "IP addresses" only when the certificate has such
// SANs: "Emails:" and "URIs:". Several certificates in the input (a chain)
// are described in order, separated by an empty line; blocks other than
// CERTIFICATE are skipped.
func Describe(certPEM []byte) (string, error) {
	var out []string
	rest := certPEM
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return "", fmt.Errorf("%w: %w", ErrNoCertificate, err)
		}
		out = append(out, describe(c))
	}
	if len(out) == 0 {
		return "", ErrNoCertificate
	}
	return strings.Join(out, "\n"), nil
}

func describe(c *x509.Certificate) string {
	var b strings.Builder
	line := func(field, value string) { fmt.Fprintf(&b, "%-18s%s\n", field+":", value) }
	line("Subject", c.Subject.String())
	line("Issuer", c.Issuer.String())
	line("Serial", hexBytes(c.SerialNumber.Bytes(), "%02x"))
	line("Not before", c.NotBefore.UTC().Format(time.RFC3339))
	line("Not after", c.NotAfter.UTC().Format(time.RFC3339))
	line("CA", fmt.Sprint(c.IsCA))
	line("Public key", publicKey(c))
	line("DNS names", list(c.DNSNames))
	ips := make([]string, len(c.IPAddresses))
	for i, ip := range c.IPAddresses {
		ips[i] = ip.String()
	}
	line("IP addresses", list(ips))
	if len(c.EmailAddresses) > 0 {
		line("Emails", list(c.EmailAddresses))
	}
	if len(c.URIs) > 0 {
		uris := make([]string, len(c.URIs))
		for i, u := range c.URIs {
			uris[i] = u.String()
		}
		line("URIs", list(uris))
	}
	line("Key usages", list(keyUsages(c.KeyUsage)))
	line("Ext key usages", list(extKeyUsages(c)))
	sum := sha256.Sum256(c.Raw)
	line("SHA-256", hexBytes(sum[:], "%02X"))
	return b.String()
}

func list(s []string) string {
	if len(s) == 0 {
		return "-"
	}
	return strings.Join(s, ", ")
}

func hexBytes(bs []byte, format string) string {
	if len(bs) == 0 {
		return "00"
	}
	parts := make([]string, len(bs))
	for i, x := range bs {
		parts[i] = fmt.Sprintf(format, x)
	}
	return strings.Join(parts, ":")
}

func publicKey(c *x509.Certificate) string {
	switch k := c.PublicKey.(type) {
	case *ecdsa.PublicKey:
		return "ECDSA " + k.Curve.Params().Name
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA %d", k.N.BitLen())
	case ed25519.PublicKey:
		return "Ed25519"
	}
	return c.PublicKeyAlgorithm.String()
}

// keyUsageNames are cfssl's names (config.KeyUsage), in bit order.
var keyUsageNames = []struct {
	bit  x509.KeyUsage
	name string
}{
	{x509.KeyUsageDigitalSignature, "digital signature"},
	{x509.KeyUsageContentCommitment, "content commitment"},
	{x509.KeyUsageKeyEncipherment, "key encipherment"},
	{x509.KeyUsageDataEncipherment, "data encipherment"},
	{x509.KeyUsageKeyAgreement, "key agreement"},
	{x509.KeyUsageCertSign, "cert sign"},
	{x509.KeyUsageCRLSign, "crl sign"},
	{x509.KeyUsageEncipherOnly, "encipher only"},
	{x509.KeyUsageDecipherOnly, "decipher only"},
}

func keyUsages(ku x509.KeyUsage) []string {
	var out []string
	for _, u := range keyUsageNames {
		if ku&u.bit != 0 {
			out = append(out, u.name)
		}
	}
	return out
}

// extKeyUsageNames are cfssl's names (config.ExtKeyUsage).
var extKeyUsageNames = map[x509.ExtKeyUsage]string{
	x509.ExtKeyUsageAny:                        "any",
	x509.ExtKeyUsageServerAuth:                 "server auth",
	x509.ExtKeyUsageClientAuth:                 "client auth",
	x509.ExtKeyUsageCodeSigning:                "code signing",
	x509.ExtKeyUsageEmailProtection:            "email protection",
	x509.ExtKeyUsageIPSECEndSystem:             "ipsec end system",
	x509.ExtKeyUsageIPSECTunnel:                "ipsec tunnel",
	x509.ExtKeyUsageIPSECUser:                  "ipsec user",
	x509.ExtKeyUsageTimeStamping:               "timestamping",
	x509.ExtKeyUsageOCSPSigning:                "ocsp signing",
	x509.ExtKeyUsageMicrosoftServerGatedCrypto: "microsoft sgc",
	x509.ExtKeyUsageNetscapeServerGatedCrypto:  "netscape sgc",
}

func extKeyUsages(c *x509.Certificate) []string {
	var out []string
	for _, u := range c.ExtKeyUsage {
		if n, ok := extKeyUsageNames[u]; ok {
			out = append(out, n)
		} else {
			out = append(out, fmt.Sprintf("ext key usage %d", u))
		}
	}
	for _, oid := range c.UnknownExtKeyUsage {
		out = append(out, oid.String())
	}
	return out
}
