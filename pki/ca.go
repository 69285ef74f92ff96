package pki

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/cloudflare/cfssl/csr"
	"github.com/cloudflare/cfssl/initca"
	cflog "github.com/cloudflare/cfssl/log"
)

// cfssl logs every key it generates and every request it signs through the
// standard logger at Info level; its failures come back as errors, which is
// how this package reports them.
func init() { cflog.Level = cflog.LevelFatal }

// Key algorithms of [CARequest.KeyAlgo] and [CertRequest.KeyAlgo].
const (
	KeyAlgoECDSA = "ecdsa" // P-256, the default
	KeyAlgoRSA   = "rsa"   // 2048 bits
)

// Defaults of [CARequest].
const (
	DefaultCACN     = "Larch CA"
	DefaultCAExpiry = 5 * 365 * 24 * time.Hour // cfssl's 43800h
)

// File names of a CA directory, cfssl's.
const (
	CACertFile = "ca.pem"
	CAKeyFile  = "ca-key.pem"
)

var (
	// ErrExists is returned by the Write functions (and [CheckOverwrite]) when a
	// file they would write exists and force is false.
	ErrExists = errors.New("pki: file exists")
	// ErrUnknownKeyAlgo is returned for a key algorithm other than "ecdsa" and "rsa".
	ErrUnknownKeyAlgo = errors.New(`pki: unknown key algorithm (want "ecdsa" or "rsa")`)
	// ErrBadExpiry is returned for a negative expiry.
	ErrBadExpiry = errors.New("pki: expiry must be positive")
	// ErrNoCA is returned by [LoadCA] when the CA certificate or key is missing
	// or unreadable.
	ErrNoCA = errors.New("pki: no CA")
	// ErrBadCA is returned by [Issue] when the CA's PEM bytes are not a CA
	// certificate and its matching key, or the CA has expired.
	ErrBadCA = errors.New("pki: bad CA")
)

// CARequest describes a CA to make.
type CARequest struct {
	// CN is the CA's common name; "" means [DefaultCACN].
	CN string
	// KeyAlgo is [KeyAlgoECDSA] (P-256, also for "") or [KeyAlgoRSA] (2048 bits).
	KeyAlgo string
	// Expiry is how long the CA is valid; 0 means [DefaultCAExpiry].
	Expiry time.Duration
}

// Validate checks r as [InitCA] does, without making anything.
func (r CARequest) Validate() error {
	_, err := r.withDefaults()
	return err
}

// withDefaults checks r and fills its defaults.
func (r CARequest) withDefaults() (CARequest, error) {
	if r.CN == "" {
		r.CN = DefaultCACN
	}
	if err := checkCN(r.CN); err != nil {
		return r, err
	}
	var err error
	r.Expiry, err = checkKeyAndExpiry(r.KeyAlgo, r.Expiry, DefaultCAExpiry)
	return r, err
}

// checkKeyAndExpiry checks a request's key algorithm and expiry, and returns
// the expiry with its default filled.
func checkKeyAndExpiry(algo string, expiry, def time.Duration) (time.Duration, error) {
	if _, err := keyRequest(algo); err != nil {
		return expiry, err
	}
	switch {
	case expiry < 0:
		return expiry, fmt.Errorf("%w: %v", ErrBadExpiry, expiry)
	case expiry == 0:
		return def, nil
	}
	return expiry, nil
}

// InitCA makes a self-signed CA; writes nothing. The CA may sign certificates
// and CRLs ("cert sign", "crl sign") and is valid from 5 minutes before now
// (cfssl's backdating, for clock skew) until req.Expiry after now.
func InitCA(req CARequest) (certPEM, keyPEM []byte, err error) {
	req, err = req.withDefaults()
	if err != nil {
		return nil, nil, err
	}
	kr, _ := keyRequest(req.KeyAlgo)
	certPEM, _, keyPEM, err = initca.New(&csr.CertificateRequest{
		CN:         req.CN,
		KeyRequest: kr,
		// initca counts the expiry from its backdated start: add the
		// backdate back, so that a CA, like a certificate, ends req.Expiry
		// after now (to the minute, which initca rounds to).
		CA: &csr.CAConfig{Expiry: (req.Expiry + backdate).String()},
	})
	if err != nil {
		return nil, nil, fmt.Errorf("pki: make CA: %w", err)
	}
	return certPEM, keyPEM, nil
}

// keyRequest is cfssl's request for a key of algo.
func keyRequest(algo string) (*csr.KeyRequest, error) {
	switch algo {
	case "", KeyAlgoECDSA:
		return &csr.KeyRequest{A: KeyAlgoECDSA, S: 256}, nil
	case KeyAlgoRSA:
		return &csr.KeyRequest{A: KeyAlgoRSA, S: 2048}, nil
	}
	return nil, fmt.Errorf("%w: %q", ErrUnknownKeyAlgo, algo)
}

// CAFiles names the certificate and key files of the CA in dir.
func CAFiles(dir string) (certFile, keyFile string) {
	return filepath.Join(dir, CACertFile), filepath.Join(dir, CAKeyFile)
}

// WriteCA writes DIR/ca.pem (0644) and DIR/ca-key.pem (0600), creating dir
// (0700) if needed. Without force, nothing is written if either file exists
// ([ErrExists]). A failure leaves no new file behind.
func WriteCA(dir string, certPEM, keyPEM []byte, force bool) error {
	certFile, keyFile := CAFiles(dir)
	return writeFiles(dir, force, []file{
		{path: certFile, data: certPEM, mode: 0o644},
		{path: keyFile, data: keyPEM, mode: 0o600},
	})
}

// LoadCA reads DIR/ca.pem and DIR/ca-key.pem. A missing or unreadable file
// is [ErrNoCA]; the contents are checked by [Issue].
func LoadCA(dir string) (certPEM, keyPEM []byte, err error) {
	certFile, keyFile := CAFiles(dir)
	if certPEM, err = os.ReadFile(certFile); err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrNoCA, err)
	}
	if keyPEM, err = os.ReadFile(keyFile); err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrNoCA, err)
	}
	return certPEM, keyPEM, nil
}
