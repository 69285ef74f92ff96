// The `pki` commands: a CA, certificates, and their description.
//
//	larchctl pki ca init --dir DIR [--cn NAME] [--key-algo ecdsa|rsa] [--expiry 5y] [--force]
//	larchctl pki cert --ca-dir DIR --profile server|peer|client --cn NAME [--hosts h1,ip2,...]
//	                  [--key-algo ecdsa|rsa] [--expiry 1y] [--out-dir DIR] [--force]
//	larchctl pki show FILE
//
// The work is the pki package's: these commands check the command line,
// check every input before anything is written, and print the files they
// wrote ("wrote PATH", one line each) or the description `pki show` prints
// (its format is documented at pki.Describe).

package owncmd

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/larchkv/larch/pki"
)

var (
	keyAlgoFlag = Flag{Name: "key-algo", Default: pki.KeyAlgoECDSA, Usage: "key algorithm: ecdsa (P-256) or rsa (2048 bits)"}
	forceFlag   = Flag{Name: "force", Bool: true, Usage: "overwrite existing files"}
)

// PKI is `larchctl pki`.
var PKI = &Set{
	Name:     "pki",
	Short:    "Built-in PKI: a CA, and certificates for members and clients",
	Groups:   map[string]string{"ca": "Certificate authority commands"},
	Commands: pkiCommands,
}

var pkiCommands = []*Command{
	{
		Path:  []string{"ca", "init"},
		Short: "Makes a CA: DIR/ca.pem and DIR/ca-key.pem",
		Long: `Makes a self-signed certificate authority and writes its certificate to DIR/ca.pem
(mode 0644) and its private key to DIR/ca-key.pem (mode 0600), creating DIR (0700) if needed.
Existing files are kept unless --force is given; on any error nothing is written.
--expiry is a duration such as 8760h, 90d or 5y (a year is 365 days).`,
		Flags: []Flag{
			{Name: "dir", Usage: "directory to write ca.pem and ca-key.pem to (required)"},
			{Name: "cn", Default: pki.DefaultCACN, Usage: "common name of the CA"},
			keyAlgoFlag,
			{Name: "expiry", Default: "5y", Usage: "how long the CA is valid"},
			forceFlag,
		},
		run: caInit,
	},
	{
		Path:  []string{"cert"},
		Short: "Issues a certificate from a CA: NAME.pem and NAME-key.pem",
		Long: `Issues a certificate signed by the CA in --ca-dir, for a profile:
  server  serverAuth: the certificate of a client port (--cert-file)
  peer    serverAuth and clientAuth: a member's certificate on the peer port (--peer-cert-file)
  client  clientAuth: a client's certificate; its CN is the user with --client-cert-auth
--hosts lists the names the certificate is valid for, comma-separated: IP addresses become
IP SANs, the others DNS SANs. Writes OUT-DIR/NAME.pem (0644) and OUT-DIR/NAME-key.pem (0600),
NAME being the --cn. Existing files are kept unless --force is given; on any error nothing is
written. --expiry is a duration such as 8760h, 90d or 1y, and never reaches past the CA's.`,
		Flags: []Flag{
			{Name: "ca-dir", Usage: "directory holding ca.pem and ca-key.pem (required)"},
			{Name: "profile", Usage: "server, peer or client (required)"},
			{Name: "cn", Usage: "common name, and the name of the files (required)"},
			{Name: "hosts", Usage: "comma-separated DNS names and IP addresses the certificate is for"},
			keyAlgoFlag,
			{Name: "expiry", Default: "1y", Usage: "how long the certificate is valid"},
			{Name: "out-dir", Default: ".", Usage: "directory to write the certificate and key to"},
			forceFlag,
		},
		run: cert,
	},
	{
		Path:  []string{"show"},
		Args:  "<file>",
		Short: "Describes the certificates in a PEM file",
		Long: `Prints one "Field: value" line for each of the subject, issuer, serial, validity
(not before, not after, in UTC), CA flag, public key, DNS names, IP addresses, key usages,
extended key usages and SHA-256 fingerprint of each certificate in the file ("-" reads stdin).`,
		run: show,
	},
}

func caInit(std IO, v Values, args []string) error {
	if len(args) != 0 {
		return usagef("pki ca init takes no arguments")
	}
	dir := v.String("dir")
	if dir == "" {
		return usagef("pki ca init needs --dir")
	}
	expiry, err := parseExpiry(v.String("expiry"))
	if err != nil {
		return err
	}
	req := pki.CARequest{CN: v.String("cn"), KeyAlgo: v.String("key-algo"), Expiry: expiry}
	if err := req.Validate(); err != nil {
		return err
	}
	certFile, keyFile := pki.CAFiles(dir)
	force := v.Bool("force")
	if err := pki.CheckOverwrite(force, certFile, keyFile); err != nil {
		return withForceHint(err)
	}
	certPEM, keyPEM, err := pki.InitCA(req)
	if err != nil {
		return err
	}
	if err := pki.WriteCA(dir, certPEM, keyPEM, force); err != nil {
		return withForceHint(err)
	}
	fmt.Fprintf(std.Stdout, "wrote %s\nwrote %s\n", certFile, keyFile)
	return nil
}

func cert(std IO, v Values, args []string) error {
	if len(args) != 0 {
		return usagef("pki cert takes no arguments")
	}
	for _, name := range []string{"ca-dir", "profile", "cn"} {
		if v.String(name) == "" {
			return usagef("pki cert needs --%s", name)
		}
	}
	expiry, err := parseExpiry(v.String("expiry"))
	if err != nil {
		return err
	}
	var hosts []string
	if h := v.String("hosts"); h != "" {
		hosts = strings.Split(h, ",")
	}
	req := pki.CertRequest{Profile: v.String("profile"), CN: v.String("cn"), Hosts: hosts, KeyAlgo: v.String("key-algo"), Expiry: expiry}
	if err := req.Validate(); err != nil {
		return err
	}
	dir := v.String("out-dir")
	certFile, keyFile, err := pki.CertFiles(dir, req.CN)
	if err != nil {
		return err
	}
	force := v.Bool("force")
	if err := pki.CheckOverwrite(force, certFile, keyFile); err != nil {
		return withForceHint(err)
	}
	caCert, caKey, err := pki.LoadCA(v.String("ca-dir"))
	if err != nil {
		return err
	}
	certPEM, keyPEM, err := pki.Issue(caCert, caKey, req)
	if err != nil {
		return err
	}
	if err := pki.WriteCert(dir, req.CN, certPEM, keyPEM, force); err != nil {
		return withForceHint(err)
	}
	fmt.Fprintf(std.Stdout, "wrote %s\nwrote %s\n", certFile, keyFile)
	return nil
}

func show(std IO, v Values, args []string) error {
	if len(args) != 1 {
		return usagef("pki show needs 1 argument, the certificate file")
	}
	name := args[0]
	var b []byte
	var err error
	if name == "-" {
		name = "stdin"
		b, err = readAll(std.Stdin)
	} else {
		b, err = os.ReadFile(name)
	}
	if err != nil {
		return err
	}
	d, err := pki.Describe(b)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	fmt.Fprint(std.Stdout, d)
	return nil
}

func readAll(r io.Reader) ([]byte, error) {
	if r == nil {
		return nil, nil
	}
	return io.ReadAll(r)
}

func withForceHint(err error) error {
	if errors.Is(err, pki.ErrExists) {
		return fmt.Errorf("%w (--force overwrites it)", err)
	}
	return err
}

// parseExpiry reads a positive duration: Go's (8760h, 90m) or a whole
// number of days (90d) or 365-day years (5y).
func parseExpiry(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil && len(s) > 1 {
		units := map[byte]time.Duration{'d': 24 * time.Hour, 'y': 365 * 24 * time.Hour}
		if u, ok := units[s[len(s)-1]]; ok {
			n, perr := strconv.ParseUint(s[:len(s)-1], 10, 64)
			if perr == nil && n <= uint64(math.MaxInt64/u) {
				d, err = time.Duration(n)*u, nil
			}
		}
	}
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("bad --expiry %q: want a positive duration such as 8760h, 90d or 5y", s)
	}
	return d, nil
}
