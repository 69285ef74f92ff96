package pki

import (
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode"

	"github.com/cloudflare/cfssl/config"
	"github.com/cloudflare/cfssl/csr"
	"github.com/cloudflare/cfssl/helpers"
	"github.com/cloudflare/cfssl/signer"
	"github.com/cloudflare/cfssl/signer/local"
)

// Profiles of [CertRequest.Profile].
const (
	ProfileServer = "server" // serverAuth: a client port's certificate
	ProfilePeer   = "peer"   // serverAuth and clientAuth: a member on the peer port
	ProfileClient = "client" // clientAuth: a client's certificate
)

// Defaults of [CertRequest].
const DefaultCertExpiry = 365 * 24 * time.Hour // cfssl's 8760h

// backdate is how long before issuing a certificate becomes valid, for clocks
// that run behind (cfssl's default).
const backdate = 5 * time.Minute

var (
	// ErrUnknownProfile is returned for a profile other than "server", "peer"
	// and "client".
	ErrUnknownProfile = errors.New(`pki: unknown profile (want "server", "peer" or "client")`)
	// ErrBadHost is returned for a host that is neither an IP address nor a
	// DNS name (letters, digits, '-' and '_' in dot-separated labels, an
	// optional leading "*." wildcard).
	ErrBadHost = errors.New("pki: malformed host")
	// ErrBadName is returned for an empty common name, one longer than 64
	// bytes (X.509's limit) or with control characters, and for a certificate
	// name that cannot be a file name.
	ErrBadName = errors.New("pki: bad name")
)

// CertRequest describes a certificate to issue.
type CertRequest struct {
	// Profile is [ProfileServer], [ProfilePeer] or [ProfileClient].
	Profile string
	// CN is the common name; with --client-cert-auth a client's CN is its user.
	CN string
	// Hosts are the subject alternative names: IP addresses become IP SANs,
	// the others DNS SANs.
	Hosts []string
	// KeyAlgo is [KeyAlgoECDSA] (P-256, also for "") or [KeyAlgoRSA] (2048 bits).
	KeyAlgo string
	// Expiry is how long the certificate is valid; 0 means [DefaultCertExpiry].
	// It is cut short at the CA's own end of validity.
	Expiry time.Duration
}

// Validate checks r as [Issue] does, without making anything: the profile,
// CN, hosts, key algorithm and expiry (not the CA).
func (r CertRequest) Validate() error {
	_, err := r.withDefaults()
	return err
}

// withDefaults checks r and fills its defaults.
func (r CertRequest) withDefaults() (CertRequest, error) {
	if _, err := profileUsages(r.Profile, false); err != nil {
		return r, err
	}
	if err := checkCN(r.CN); err != nil {
		return r, err
	}
	for _, h := range r.Hosts {
		if err := checkHost(h); err != nil {
			return r, err
		}
	}
	var err error
	r.Expiry, err = checkKeyAndExpiry(r.KeyAlgo, r.Expiry, DefaultCertExpiry)
	return r, err
}

// profileUsages maps a profile to cfssl's usage names. RSA keys also get
// "key encipherment", which TLS 1.2's RSA key exchange needs; ECDSA keys
// cannot encipher, so they do not.
func profileUsages(profile string, rsaKey bool) ([]string, error) {
	usages := []string{"digital signature"}
	if rsaKey {
		usages = append(usages, "key encipherment")
	}
	switch profile {
	case ProfileServer:
		return append(usages, "server auth"), nil
	case ProfilePeer:
		return append(usages, "server auth", "client auth"), nil
	case ProfileClient:
		return append(usages, "client auth"), nil
	}
	return nil, fmt.Errorf("%w: %q", ErrUnknownProfile, profile)
}

// checkCN refuses common names that no certificate should carry.
func checkCN(cn string) error {
	switch {
	case cn == "":
		return fmt.Errorf("%w: empty common name", ErrBadName)
	case len(cn) > 64:
		return fmt.Errorf("%w: common name longer than 64 bytes: %q", ErrBadName, cn)
	case strings.IndexFunc(cn, unicode.IsControl) >= 0:
		return fmt.Errorf("%w: control character in common name %q", ErrBadName, cn)
	}
	return nil
}

// checkHost accepts an IP address or a DNS name, with Go's x509 rules for
// names (crypto/x509's validHostname): labels of letters, digits, '-' (not
// first or last) and '_', an optional "*" as the whole first label. A last
// label of digits alone is refused, since it is a mistyped IP address
// ("10.0.0.256"), not a name.
func checkHost(h string) error {
	if net.ParseIP(h) != nil {
		return nil
	}
	bad := func(why string) error { return fmt.Errorf("%w %q: %s", ErrBadHost, h, why) }
	if h == "" {
		return bad("empty")
	}
	if len(h) > 253 {
		return bad("longer than 253 bytes")
	}
	labels := strings.Split(h, ".")
	for i, l := range labels {
		if l == "" {
			return bad("empty label")
		}
		if i == 0 && l == "*" && len(labels) > 1 {
			continue
		}
		if len(l) > 63 {
			return bad("label longer than 63 bytes")
		}
		if l[0] == '-' || l[len(l)-1] == '-' {
			return bad("label starts or ends with '-'")
		}
		for _, c := range l {
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return bad(fmt.Sprintf("invalid character %q", c))
			}
		}
	}
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return bad("neither an IP address nor a DNS name")
	}
	return nil
}

// Issue signs a certificate for the profile with the CA; writes nothing. The
// key is new, of req.KeyAlgo; the certificate is valid from 5 minutes before
// now until req.Expiry after now, cut to the CA's own validity.
func Issue(caCertPEM, caKeyPEM []byte, req CertRequest) (certPEM, keyPEM []byte, err error) {
	req, err = req.withDefaults()
	if err != nil {
		return nil, nil, err
	}
	ca, caKey, err := parseCA(caCertPEM, caKeyPEM)
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	if !now.Before(ca.NotAfter) {
		return nil, nil, fmt.Errorf("%w: it expired at %s", ErrBadCA, ca.NotAfter.UTC().Format(time.RFC3339))
	}
	// Within the CA's validity, which verifiers do not all require.
	notBefore, notAfter := now.Add(-backdate), now.Add(req.Expiry)
	if notBefore.Before(ca.NotBefore) {
		notBefore = ca.NotBefore
	}
	if notAfter.After(ca.NotAfter) {
		notAfter = ca.NotAfter
	}

	kr, _ := keyRequest(req.KeyAlgo)
	usages, _ := profileUsages(req.Profile, kr.Algo() == KeyAlgoRSA)
	csrPEM, keyPEM, err := csr.ParseRequest(&csr.CertificateRequest{CN: req.CN, Hosts: req.Hosts, KeyRequest: kr})
	if err != nil {
		return nil, nil, fmt.Errorf("pki: make key and request: %w", err)
	}
	profile := &config.SigningProfile{Usage: usages, Expiry: req.Expiry}
	policy := &config.Signing{
		Default:  profile,
		Profiles: map[string]*config.SigningProfile{req.Profile: profile},
	}
	s, err := local.NewSigner(caKey, ca, signer.DefaultSigAlgo(caKey), policy)
	if err != nil {
		return nil, nil, fmt.Errorf("pki: signer: %w", err)
	}
	certPEM, err = s.Sign(signer.SignRequest{
		Hosts:     req.Hosts,
		Request:   string(csrPEM),
		Profile:   req.Profile,
		NotBefore: notBefore,
		NotAfter:  notAfter,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("pki: sign: %w", err)
	}
	return certPEM, keyPEM, nil
}

// parseCA checks that the PEM bytes are a CA certificate and its key.
func parseCA(certPEM, keyPEM []byte) (*x509.Certificate, crypto.Signer, error) {
	ca, err := helpers.ParseCertificatePEM(certPEM)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: certificate: %w", ErrBadCA, err)
	}
	if !ca.IsCA || ca.KeyUsage != 0 && ca.KeyUsage&x509.KeyUsageCertSign == 0 {
		return nil, nil, fmt.Errorf("%w: %s is not a CA certificate", ErrBadCA, ca.Subject)
	}
	key, err := helpers.ParsePrivateKeyPEM(keyPEM)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: key: %w", ErrBadCA, err)
	}
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(ca.PublicKey) {
		return nil, nil, fmt.Errorf("%w: the key does not match the certificate", ErrBadCA)
	}
	if _, isRSA := key.(*rsa.PrivateKey); isRSA && key.Public().(*rsa.PublicKey).N.BitLen() < 2048 {
		return nil, nil, fmt.Errorf("%w: RSA key shorter than 2048 bits", ErrBadCA)
	}
	return ca, key, nil
}

// CertFiles names the certificate and key files of the certificate name in
// dir: NAME.pem and NAME-key.pem. A name that is empty, "." or "..", or holds
// a path separator or a control character is [ErrBadName].
func CertFiles(dir, name string) (certFile, keyFile string, err error) {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, `/\`) ||
		strings.IndexFunc(name, unicode.IsControl) >= 0 {
		return "", "", fmt.Errorf("%w: %q cannot name a file", ErrBadName, name)
	}
	return filepath.Join(dir, name+".pem"), filepath.Join(dir, name+"-key.pem"), nil
}

// WriteCert writes DIR/NAME.pem (0644) and DIR/NAME-key.pem (0600), creating
// dir (0700) if needed. Without force, nothing is written if either file
// exists ([ErrExists]). A failure leaves no new file behind.
func WriteCert(dir, name string, certPEM, keyPEM []byte, force bool) error {
	certFile, keyFile, err := CertFiles(dir, name)
	if err != nil {
		return err
	}
	return writeFiles(dir, force, []file{
		{path: certFile, data: certPEM, mode: 0o644},
		{path: keyFile, data: keyPEM, mode: 0o600},
	})
}

// CheckOverwrite returns [ErrExists] (naming the file) if force is false and
// one of paths exists. The Write functions check again as they write; this
// lets a caller fail before the work of making keys.
func CheckOverwrite(force bool, paths ...string) error {
	if force {
		return nil
	}
	for _, p := range paths {
		if _, err := os.Lstat(p); err == nil {
			return fmt.Errorf("%w: %s", ErrExists, p)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("pki: %w", err)
		}
	}
	return nil
}

// file is one file for writeFiles.
type file struct {
	path string
	data []byte
	mode os.FileMode
}

// writeFiles writes files into dir, all or none. Each is first written in
// full to a temporary file next to it, with its mode, and synced. Then each
// is put in place: without force by a hard link, which fails if the name has
// been taken meanwhile (then the files already placed are removed again);
// with force by a rename, which replaces the old file atomically. The
// directory is synced last, so the new names survive a crash.
//
// With force, a failure between two renames leaves the first file new and
// the second old; the error says which file failed.
func writeFiles(dir string, force bool, files []file) error {
	paths := make([]string, len(files))
	for i, f := range files {
		paths[i] = f.path
	}
	if err := CheckOverwrite(force, paths...); err != nil {
		return err
	}
	for _, p := range paths {
		// A rename cannot replace a directory; find out before writing.
		if st, err := os.Stat(p); err == nil && !st.Mode().IsRegular() {
			return fmt.Errorf("pki: %s exists and is not a regular file", p)
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	tmps := make([]string, 0, len(files))
	defer func() {
		for _, t := range tmps {
			os.Remove(t)
		}
	}()
	for _, f := range files {
		t, err := writeTemp(dir, f)
		if err != nil {
			return err
		}
		tmps = append(tmps, t)
	}
	var placed []string
	for i, f := range files {
		if err := place(tmps[i], f.path, force); err != nil {
			if !force {
				for _, p := range placed {
					os.Remove(p)
				}
			}
			return err
		}
		placed = append(placed, f.path)
	}
	return syncDir(dir)
}

// writeTemp writes f's data to a new temporary file in dir and returns its name.
func writeTemp(dir string, f file) (string, error) {
	t, err := os.CreateTemp(dir, "."+filepath.Base(f.path)+".tmp*")
	if err != nil {
		return "", fmt.Errorf("pki: %w", err)
	}
	_, err = t.Write(f.data)
	if err == nil {
		err = t.Chmod(f.mode)
	}
	if err == nil {
		err = t.Sync()
	}
	if cerr := t.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(t.Name())
		return "", fmt.Errorf("pki: write %s: %w", f.path, err)
	}
	return t.Name(), nil
}

// link is os.Link; tests make it fail.
var link = os.Link

// place puts the temporary file tmp at path. Without force, a hard link never
// replaces a file; on a file system without hard links (the link is refused
// as unsupported or not permitted), path is checked and tmp renamed.
func place(tmp, path string, force bool) error {
	if !force {
		err := link(tmp, path)
		if err == nil {
			return nil
		}
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%w: %s", ErrExists, path)
		}
		if !errors.Is(err, errors.ErrUnsupported) && !errors.Is(err, fs.ErrPermission) {
			return fmt.Errorf("pki: %w", err)
		}
		if err := CheckOverwrite(false, path); err != nil {
			return err
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	return nil
}

// syncDir makes the directory entries of dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("pki: sync %s: %w", dir, err)
	}
	return nil
}
