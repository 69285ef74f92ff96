package ctlv2

import (
	"errors"
	"fmt"
	"io"
	"time"

	client "go.etcd.io/etcd/client/v2"
)

var (
	errKeyRequired   = errors.New("key required")
	errValueRequired = errors.New("value required")
)

// Like etcdctl, every keys command builds (and syncs) its client before it looks at its
// arguments, so an unreachable cluster wins over a missing key.

// argOrStdin returns args[i], or else all of stdin; empty stdin is an error.
func (c *ctl) argOrStdin(args []string, i int) (string, error) {
	if i < len(args) {
		return args[i], nil
	}
	b, err := io.ReadAll(c.env.Stdin)
	if err != nil || len(b) == 0 {
		return "", errValueRequired
	}
	return string(b), nil
}

// keyArgs is the start of every command that names a key: the client and
// the arguments, of which the first is the key.
func (c *ctl) keyArgs(f *flagValues) (client.KeysAPI, []string, error) {
	ki, err := c.keysAPI()
	if err != nil {
		return nil, nil, err
	}
	args := f.Args()
	if len(args) == 0 {
		return nil, nil, c.handleError(exitBadArgs, errKeyRequired)
	}
	return ki, args, nil
}

func ttlSeconds(f *flagValues) time.Duration {
	return time.Duration(f.Int("ttl")) * time.Second
}

func (c *ctl) get(f *flagValues) error {
	ki, args, err := c.keyArgs(f)
	if err != nil {
		return err
	}
	ctx, cancel := c.totalTimeout()
	resp, err := ki.Get(ctx, args[0], &client.GetOptions{Sort: f.Bool("sort"), Quorum: f.Bool("quorum")})
	cancel()
	if err != nil {
		return c.handleError(exitServerError, err)
	}
	if resp.Node.Dir {
		fmt.Fprintf(c.env.Stderr, "%s: is a directory\n", resp.Node.Key)
		return exitStatus(exitError)
	}
	c.printResponse(resp)
	return nil
}

func (c *ctl) ls(f *flagValues) error {
	ki, err := c.keysAPI()
	if err != nil {
		return err
	}
	key := "/"
	if args := f.Args(); len(args) > 0 {
		key = args[0]
	}
	ctx, cancel := c.totalTimeout()
	resp, err := ki.Get(ctx, key, &client.GetOptions{Sort: f.Bool("sort"), Recursive: f.Bool("recursive"), Quorum: f.Bool("quorum")})
	cancel()
	if err != nil {
		return c.handleError(exitServerError, err)
	}
	if c.global.String("output") != "simple" {
		c.printResponse(resp)
		return nil
	}
	// Like ls(1): a file lists itself, a directory its contents, depth first.
	if !resp.Node.Dir {
		fmt.Fprintln(c.env.Stdout, resp.Node.Key)
	}
	slash := f.Bool("p")
	var walk func(n *client.Node)
	walk = func(n *client.Node) {
		if n.Dir && slash {
			fmt.Fprintln(c.env.Stdout, n.Key+"/")
		} else {
			fmt.Fprintln(c.env.Stdout, n.Key)
		}
		for _, child := range n.Nodes {
			walk(child)
		}
	}
	for _, n := range resp.Node.Nodes {
		walk(n)
	}
	return nil
}

// setValue is the common part of set, mk and update: a key, a value from the arguments
// or stdin, and a Set with opts filled by the caller.
func (c *ctl) setValue(f *flagValues, do func(ki client.KeysAPI, key, value string) (*client.Response, error)) error {
	ki, args, err := c.keyArgs(f)
	if err != nil {
		return err
	}
	value, err := c.argOrStdin(args, 1)
	if err != nil {
		return c.handleError(exitBadArgs, errValueRequired)
	}
	resp, err := do(ki, args[0], value)
	if err != nil {
		return c.handleError(exitServerError, err)
	}
	c.printResponse(resp)
	return nil
}

func (c *ctl) set(f *flagValues) error {
	return c.setValue(f, func(ki client.KeysAPI, key, value string) (*client.Response, error) {
		ctx, cancel := c.totalTimeout()
		defer cancel()
		return ki.Set(ctx, key, value, &client.SetOptions{
			TTL:       ttlSeconds(f),
			PrevIndex: uint64(f.Int("swap-with-index")),
			PrevValue: f.String("swap-with-value"),
		})
	})
}

func (c *ctl) mk(f *flagValues) error {
	return c.setValue(f, func(ki client.KeysAPI, key, value string) (*client.Response, error) {
		ctx, cancel := c.totalTimeout()
		defer cancel()
		if f.Bool("in-order") {
			return ki.CreateInOrder(ctx, key, value, &client.CreateInOrderOptions{TTL: ttlSeconds(f)})
		}
		return ki.Set(ctx, key, value, &client.SetOptions{TTL: ttlSeconds(f), PrevExist: client.PrevNoExist})
	})
}

func (c *ctl) update(f *flagValues) error {
	return c.setValue(f, func(ki client.KeysAPI, key, value string) (*client.Response, error) {
		ctx, cancel := c.totalTimeout()
		defer cancel()
		return ki.Set(ctx, key, value, &client.SetOptions{TTL: ttlSeconds(f), PrevExist: client.PrevExist})
	})
}

// setDir is mkdir (prevExist=false), setdir (no condition) and updatedir
// (prevExist=true). It prints nothing in simple mode.
func (c *ctl) setDir(f *flagValues, prev client.PrevExistType) error {
	ki, args, err := c.keyArgs(f)
	if err != nil {
		return err
	}
	ctx, cancel := c.totalTimeout()
	resp, err := ki.Set(ctx, args[0], "", &client.SetOptions{TTL: ttlSeconds(f), Dir: true, PrevExist: prev})
	cancel()
	if err != nil {
		return c.handleError(exitServerError, err)
	}
	if c.global.String("output") != "simple" {
		c.printResponse(resp)
	}
	return nil
}

func (c *ctl) mkdir(f *flagValues) error     { return c.setDir(f, client.PrevNoExist) }
func (c *ctl) setdir(f *flagValues) error    { return c.setDir(f, client.PrevIgnore) }
func (c *ctl) updatedir(f *flagValues) error { return c.setDir(f, client.PrevExist) }

// remove is rm and rmdir. A deleted directory prints nothing in simple mode.
func (c *ctl) remove(f *flagValues, opts func() *client.DeleteOptions) error {
	ki, args, err := c.keyArgs(f)
	if err != nil {
		return err
	}
	ctx, cancel := c.totalTimeout()
	resp, err := ki.Delete(ctx, args[0], opts())
	cancel()
	if err != nil {
		return c.handleError(exitServerError, err)
	}
	if !resp.Node.Dir || c.global.String("output") != "simple" {
		c.printResponse(resp)
	}
	return nil
}

func (c *ctl) rm(f *flagValues) error {
	return c.remove(f, func() *client.DeleteOptions {
		return &client.DeleteOptions{
			PrevIndex: uint64(f.Int("with-index")),
			PrevValue: f.String("with-value"),
			Dir:       f.Bool("dir"),
			Recursive: f.Bool("recursive"),
		}
	})
}

func (c *ctl) rmdir(f *flagValues) error {
	return c.remove(f, func() *client.DeleteOptions { return &client.DeleteOptions{Dir: true} })
}
