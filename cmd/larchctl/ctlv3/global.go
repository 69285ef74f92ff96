package ctlv3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"go.etcd.io/etcd/client/pkg/v3/logutil"
	"go.etcd.io/etcd/client/pkg/v3/srv"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"google.golang.org/grpc/grpclog"
)

// envPrefix is the prefix of the environment variables that stand for global flags:
// --dial-timeout is ETCDCTL_DIAL_TIMEOUT.
const envPrefix = "ETCDCTL"

// globalFlags are the flags every command inherits from the root.
type globalFlags struct {
	endpoints      []string
	debug          bool
	outputFormat   string
	isHex          bool
	dialTimeout    time.Duration
	commandTimeout time.Duration

	keepAliveTime      time.Duration
	keepAliveTimeout   time.Duration
	maxCallSendMsgSize int
	maxCallRecvMsgSize int

	insecure           bool
	insecureDiscovery  bool
	insecureSkipVerify bool
	certFile           string
	keyFile            string
	trustedCAFile      string
	user               string
	password           string

	discoverySRV     string
	discoverySRVName string
}

func (c *ctl) addGlobalFlags(root *cobra.Command) {
	g := &c.global
	pf := root.PersistentFlags()
	pf.StringSliceVar(&g.endpoints, "endpoints", []string{"127.0.0.1:2379"}, "gRPC endpoints")
	pf.BoolVar(&g.debug, "debug", false, "enable client-side debug logging")

	pf.StringVarP(&g.outputFormat, "write-out", "w", "simple", "set the output format (fields, json, protobuf, simple, table)")
	pf.BoolVar(&g.isHex, "hex", false, "print byte strings as hex encoded strings")

	pf.DurationVar(&g.dialTimeout, "dial-timeout", 2*time.Second, "dial timeout for client connections")
	pf.DurationVar(&g.commandTimeout, "command-timeout", 5*time.Second, "timeout for short running command (excluding dial timeout)")
	pf.DurationVar(&g.keepAliveTime, "keepalive-time", 2*time.Second, "keepalive time for client connections")
	pf.DurationVar(&g.keepAliveTimeout, "keepalive-timeout", 6*time.Second, "keepalive timeout for client connections")
	pf.IntVar(&g.maxCallSendMsgSize, "max-request-bytes", 0, "client-side request send limit in bytes (if 0, it defaults to 2.0 MiB (2 * 1024 * 1024).)")
	pf.IntVar(&g.maxCallRecvMsgSize, "max-recv-bytes", 0, "client-side response receive limit in bytes (if 0, it defaults to \"math.MaxInt32\")")

	pf.BoolVar(&g.insecure, "insecure-transport", true, "disable transport security for client connections")
	pf.BoolVar(&g.insecureDiscovery, "insecure-discovery", true, "accept insecure SRV records describing cluster endpoints")
	pf.BoolVar(&g.insecureSkipVerify, "insecure-skip-tls-verify", false, "skip server certificate verification (CAUTION: this option should be enabled only for testing purposes)")
	pf.StringVar(&g.certFile, "cert", "", "identify secure client using this TLS certificate file")
	pf.StringVar(&g.keyFile, "key", "", "identify secure client using this TLS key file")
	pf.StringVar(&g.trustedCAFile, "cacert", "", "verify certificates of TLS-enabled secure servers using this CA bundle")
	pf.StringVar(&g.user, "user", "", "username[:password] for authentication (prompt if password is not supplied)")
	pf.StringVar(&g.password, "password", "", "password for authentication (if this option is used, --user option shouldn't include password)")
	pf.StringVarP(&g.discoverySRV, "discovery-srv", "d", "", "domain name to query for SRV records describing cluster endpoints")
	pf.StringVar(&g.discoverySRVName, "discovery-srv-name", "", "service name to query when using DNS discovery")
}

// discardValue is a flag value that takes anything and keeps nothing.
type discardValue struct{}

func (discardValue) String() string   { return "" }
func (discardValue) Set(string) error { return nil }
func (discardValue) Type() string     { return "" }

// commandCtx bounds one short request by --command-timeout.
func (c *ctl) commandCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), c.global.commandTimeout)
}

// clientSpec turns the global flags (and the ETCDCTL_* variables behind them) into a client
// configuration, and picks the printer. Its steps and their order follow etcdctl, because
// each step can end the command with its own error and exit code.
func (c *ctl) clientSpec(cmd *cobra.Command) (*clientv3.ConfigSpec, error) {
	fs := cmd.InheritedFlags()
	if strings.HasPrefix(cmd.Use, "watch") {
		// etcdctl declares ETCDCTL_WATCH_KEY and ETCDCTL_WATCH_RANGE_END as flags that
		// take any value, to silence their warnings; --debug lists them too.
		fs.AddFlag(&pflag.Flag{Name: "watch-key", Value: discardValue{}})
		fs.AddFlag(&pflag.Flag{Name: "watch-range-end", Value: discardValue{}})
	}
	if err := c.applyEnv(fs); err != nil {
		return nil, err
	}

	if c.global.debug {
		setGRPCLogger(c.stderr, true)
		fs.VisitAll(func(f *pflag.Flag) {
			fmt.Fprintf(c.stderr, "%s=%v\n", flagToEnv(f.Name), f.Value)
		})
	} else {
		setGRPCLogger(c.stderr, false)
	}

	spec := &clientv3.ConfigSpec{}
	eps, err := c.endpoints()
	if err != nil {
		return nil, fail(exitError, err)
	}
	spec.Endpoints = eps
	spec.DialTimeout = c.global.dialTimeout
	spec.KeepAliveTime = c.global.keepAliveTime
	spec.KeepAliveTimeout = c.global.keepAliveTimeout
	spec.MaxCallSendMsgSize = c.global.maxCallSendMsgSize
	spec.MaxCallRecvMsgSize = c.global.maxCallRecvMsgSize

	if spec.Secure, err = c.secureConfig(cmd); err != nil {
		return nil, err
	}
	if spec.Auth, err = c.authConfig(); err != nil {
		return nil, err
	}

	p := newPrinter(c.global.outputFormat, c.global.isHex, c.stdout, c.stderr)
	if p == nil {
		return nil, fail(exitBadFeature, errors.New("unsupported output format"))
	}
	c.display = p
	return spec, nil
}

// newClient connects a client for spec. A bad configuration exits 128, a client that
// cannot be built exits 2.
func (c *ctl) newClient(spec *clientv3.ConfigSpec, logName string) (*clientv3.Client, error) {
	cfg, err := clientv3.NewClientConfig(spec, c.logger(zapcore.InfoLevel))
	if err != nil {
		return nil, fail(exitBadArgs, err)
	}
	cfg.Logger = c.logger(clientLogLevel(c.env.Getenv("ETCD_CLIENT_DEBUG"))).Named(logName)
	cli, err := clientv3.New(*cfg)
	if err != nil {
		return nil, fail(exitBadConnection, err)
	}
	c.clients = append(c.clients, cli)
	return cli, nil
}

// client configures and connects the client of a command.
func (c *ctl) client(cmd *cobra.Command) (*clientv3.Client, error) {
	spec, err := c.clientSpec(cmd)
	if err != nil {
		return nil, err
	}
	return c.newClient(spec, "etcd-client")
}

// clientLogLevel reads ETCD_CLIENT_DEBUG as etcd's client does.
func clientLogLevel(v string) zapcore.Level {
	if v == "" || v == "true" {
		return zapcore.InfoLevel
	}
	var l zapcore.Level
	if err := l.Set(v); err != nil {
		return zapcore.InfoLevel
	}
	return l
}

// endpoints returns the endpoints from DNS discovery or else from --endpoints, trimmed.
func (c *ctl) endpoints() ([]string, error) {
	eps, err := c.discoveredEndpoints()
	if err != nil {
		return nil, err
	}
	if len(eps) > 0 {
		return eps, nil
	}
	eps = make([]string, len(c.global.endpoints))
	for i, ep := range c.global.endpoints {
		eps[i] = strings.TrimSpace(ep)
	}
	return eps, nil
}

func (c *ctl) discoveredEndpoints() ([]string, error) {
	if c.global.discoverySRV == "" {
		return nil, nil
	}
	srvs, err := srv.GetClient("etcd-client", c.global.discoverySRV, c.global.discoverySRVName)
	if err != nil {
		return nil, err
	}
	if c.global.insecureDiscovery {
		return srvs.Endpoints, nil
	}
	var eps []string
	for _, ep := range srvs.Endpoints {
		if strings.HasPrefix(ep, "http://") {
			fmt.Fprintf(c.stderr, "ignoring discovered insecure endpoint %q\n", ep)
			continue
		}
		eps = append(eps, ep)
	}
	return eps, nil
}

// discoveryDomain is the TLS server name: the --discovery-srv domain, but only when insecure
// discovery is off.
func (c *ctl) discoveryDomain() string {
	if c.global.insecureDiscovery {
		return ""
	}
	return c.global.discoverySRV
}

func (c *ctl) secureConfig(cmd *cobra.Command) (*clientv3.SecureConfig, error) {
	for _, name := range []string{"cert", "key", "cacert"} {
		if f := cmd.Flags().Lookup(name); f != nil && f.Changed && f.Value.String() == "" {
			return nil, failf(exitBadArgs, "empty string is passed to --%s option", name)
		}
	}
	return &clientv3.SecureConfig{
		Cert:               c.global.certFile,
		Key:                c.global.keyFile,
		Cacert:             c.global.trustedCAFile,
		ServerName:         c.discoveryDomain(),
		InsecureTransport:  c.global.insecure,
		InsecureSkipVerify: c.global.insecureSkipVerify,
	}, nil
}

// authConfig reads --user and --password: "name:password" in --user, or --user with
// --password, or --user alone, which asks for the password on the terminal.
func (c *ctl) authConfig() (*clientv3.AuthConfig, error) {
	user, password := c.global.user, c.global.password
	if user == "" {
		return nil, nil
	}
	if password != "" {
		return &clientv3.AuthConfig{Username: user, Password: password}, nil
	}
	name, pw, ok := strings.Cut(user, ":")
	if ok {
		return &clientv3.AuthConfig{Username: name, Password: pw}, nil
	}
	pw, err := c.askPassword("Password: ")
	if err != nil {
		return nil, fail(exitError, err)
	}
	return &clientv3.AuthConfig{Username: user, Password: pw}, nil
}

// askPassword prompts on stdout and reads one line from stdin with the terminal echo
// switched off by stty, as etcdctl's prompt library does (so a stdin that is not a terminal
// gets stty's complaint on stderr, as with etcdctl).
func (c *ctl) askPassword(prompt string) (string, error) {
	fmt.Fprint(c.stdout, prompt)
	c.stty("-echo")
	var line []byte
	var err error
	b := make([]byte, 1)
	for {
		var n int
		n, err = c.env.Stdin.Read(b)
		if err != nil && err != io.EOF {
			break
		}
		err = nil
		if n == 0 || b[0] == '\n' {
			break
		}
		line = append(line, b[0])
	}
	c.stty("echo")
	fmt.Fprintln(c.stdout, "")
	if err != nil {
		return "", fmt.Errorf("failed during password entry: %s", err)
	}
	return strings.TrimSpace(strings.TrimSuffix(string(line), "\r")), nil
}

func (c *ctl) stty(arg string) {
	path, err := exec.LookPath("stty")
	if err != nil {
		return
	}
	cmd := exec.Command(path, arg)
	cmd.Args[0] = "stty" // as the prompt library runs it, which shows in stty's messages
	cmd.Stdout, cmd.Stderr = c.stdout, c.stderr
	// stty works on the terminal behind stdin and reads nothing from it. A stdin that is
	// not a file (an in-process run) would be copied into stty's and lost to the password
	// reads after it: stty gets /dev/null instead, which it refuses as it refuses a pipe.
	if f, ok := c.env.Stdin.(*os.File); ok {
		cmd.Stdin = f
	}
	cmd.Run()
}

// flagToEnv names the environment variable of a flag: dial-timeout → ETCDCTL_DIAL_TIMEOUT.
func flagToEnv(name string) string {
	return envPrefix + "_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// applyEnv sets the flags of fs from their ETCDCTL_* variables, the way etcd's
// pkg/flags.SetPflagsFromEnv does: a flag given on the command line wins, and having its
// variable set too is fatal; a value the flag rejects is ignored silently; every other
// ETCDCTL_* variable gets an "unrecognized environment variable" warning.
func (c *ctl) applyEnv(fs *pflag.FlagSet) error {
	alreadySet := map[string]bool{}
	used := map[string]bool{}
	fs.VisitAll(func(f *pflag.Flag) {
		key := flagToEnv(f.Name)
		if f.Changed {
			alreadySet[key] = true
		}
		if alreadySet[key] {
			return
		}
		if v := c.env.Getenv(key); v != "" {
			used[key] = true
			fs.Set(f.Name, v) // etcdctl ignores the error, and so the value
		}
	})

	for _, kv := range c.env.Environ {
		key, _, ok := strings.Cut(kv, "=")
		if !ok {
			c.flagsLog(zapcore.WarnLevel, 78, "found invalid environment variable", kv)
		}
		if used[key] {
			continue
		}
		if alreadySet[key] {
			c.flagsLog(zapcore.FatalLevel, 86, "conflicting environment variable is shadowed by corresponding command-line flag (either unset environment variable or disable flag))", key)
			return fail(exitError, nil)
		}
		if strings.HasPrefix(kv, envPrefix+"_") {
			c.flagsLog(zapcore.WarnLevel, 94, "unrecognized environment variable", kv)
		}
	}
	return nil
}

// flagsLog writes one of etcd's pkg/flags log lines. The entry names etcd's source line as
// its caller, so the JSON is the one etcdctl prints.
func (c *ctl) flagsLog(level zapcore.Level, line int, msg, variable string) {
	ent := zapcore.Entry{
		Level:   level,
		Time:    time.Now(),
		Message: msg,
		Caller:  zapcore.EntryCaller{Defined: true, File: "go.etcd.io/etcd/pkg/v3@v3.6.6/flags/flag.go", Line: line},
	}
	if level >= zapcore.ErrorLevel {
		ent.Stack = stacktrace()
	}
	core := newLogCore(c.stderr, zapcore.InfoLevel)
	core.Write(ent, []zapcore.Field{zap.String("environment-variable", variable)})
}

// stacktrace formats the current goroutine's stack as zap does ("function\n\tfile:line").
func stacktrace() string {
	pcs := make([]uintptr, 64)
	n := runtime.Callers(3, pcs)
	frames := runtime.CallersFrames(pcs[:n])
	var b strings.Builder
	for {
		f, more := frames.Next()
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "%s\n\t%s:%d", f.Function, f.File, f.Line)
		if !more {
			break
		}
	}
	return b.String()
}

// newLogCore is the zap core of etcd's default logger (JSON, "ts" with microseconds,
// short callers) writing to w.
func newLogCore(w io.Writer, level zapcore.Level) zapcore.Core {
	enc := zapcore.NewJSONEncoder(logutil.DefaultZapLoggerConfig.EncoderConfig)
	return zapcore.NewCore(enc, zapcore.AddSync(w), level)
}

// logger is etcd's default zap logger, writing to the invocation's stderr.
func (c *ctl) logger(level zapcore.Level) *zap.Logger {
	core := zapcore.NewSamplerWithOptions(newLogCore(c.stderr, level), time.Second, 100, 100)
	return zap.New(core, zap.AddCaller(), zap.AddStacktrace(zapcore.ErrorLevel), zap.ErrorOutput(zapcore.AddSync(c.stderr)))
}

// gRPC's logger is one per process and must be installed before gRPC runs, so it is
// installed once and writes through grpcLogOut, which each invocation points at its stderr.
// As in etcdctl, only gRPC's errors are shown, unless --debug asks for everything.
var (
	grpcLogOnce  sync.Once
	grpcLogOut   atomic.Pointer[io.Writer]
	grpcLogDebug atomic.Bool
)

type grpcLogWriter struct{ debugOnly bool }

func (w grpcLogWriter) Write(p []byte) (int, error) {
	if w.debugOnly && !grpcLogDebug.Load() {
		return len(p), nil
	}
	if out := grpcLogOut.Load(); out != nil {
		return (*out).Write(p)
	}
	return os.Stderr.Write(p)
}

func setGRPCLogger(w io.Writer, debug bool) {
	grpcLogOut.Store(&w)
	grpcLogDebug.Store(debug)
	grpcLogOnce.Do(func() {
		grpclog.SetLoggerV2(grpclog.NewLoggerV2WithVerbosity(grpcLogWriter{debugOnly: true}, grpcLogWriter{debugOnly: true}, grpcLogWriter{}, 4))
	})
}
