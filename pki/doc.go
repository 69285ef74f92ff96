// Package pki is Larch's built-in public key infrastructure: the certificate
// authority and certificate issuing behind `larchctl pki` and the server's
// verified auto-TLS, and the TLS configurations of the client and peer ports.
//
// # Issuing (ca.go, cert.go, show.go)
//
// Built on cfssl (initca, csr, signer/local). Everything happens in memory and
// returns PEM bytes; writing files is a separate step, so the server can issue
// itself a certificate without touching the disk, and the CLI can check every
// input before it writes anything.
//
//   - [InitCA] makes a self-signed CA from a [CARequest]: ECDSA P-256 (default)
//     or RSA 2048, valid 5 years by default, usages "cert sign" and "crl sign".
//   - [Issue] signs a certificate for a [CertRequest] with a CA. Its profile
//     decides the extended key usage: "server" (serverAuth), "peer" (serverAuth
//     and clientAuth: a member both accepts and opens peer connections),
//     "client" (clientAuth); key usage "digital signature", and "key
//     encipherment" for RSA keys only. Hosts that parse as IP addresses become IP SANs,
//     the others DNS SANs; a host that is neither is refused. Valid 1 year by
//     default, from 5 minutes before issuing (clock skew), within the CA's validity.
//   - [WriteCA] and [WriteCert] write cfssl's file names (ca.pem and
//     ca-key.pem; NAME.pem and NAME-key.pem): keys 0600, certificates 0644.
//     An existing file is kept unless force is set ([ErrExists]). Each file is
//     written to a temporary file in the same directory, synced, and renamed
//     (or hard-linked, without force, so a file created meanwhile is not
//     replaced) into place; a reader never sees a half-written file, and a
//     failure leaves no new file behind (with force, a failure between the
//     two renames leaves the first file replaced; the error names the file).
//   - [CARequest.Validate] and [CertRequest.Validate] check a request, and
//     [CheckOverwrite] the files, before any key is made.
//   - [LoadCA] reads a CA directory; [Describe] renders a certificate as
//     `larchctl pki show` prints it (the format is documented there).
//
// cfssl's own choices that matter here: its signer falls back to the default
// profile for an unknown profile name, so profiles are checked here first; its
// signer turns hosts that parse as e-mail addresses or URIs into those SAN
// kinds, so hosts are validated here as IPs or DNS names first; its logger
// writes to the standard logger at Info level, so this package raises its level
// (errors come back as values instead).
//
// # TLS (tls.go)
//
// [TLSInfo] describes one side's TLS in etcd's flag terms (--cert-file,
// --trusted-ca-file, --client-cert-auth, --client-crl-file, allowed CN and
// hostname, cipher suites, versions) and builds the server and client
// tls.Config values of the client and peer ports. Certificates, CAs and CRLs
// are read again when they change on disk, so rotated files take effect for
// new connections without a restart; files written by [WriteCert] replace the
// old ones atomically, which such a reload relies on.
//
// Issuing and writing run on the caller's goroutine and start none.
package pki
