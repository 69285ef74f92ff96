// The `discovery` commands: tokens for discovery-token bootstrap.
//
//	larchctl discovery new [--size N]

package owncmd

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
)

// Discovery is `larchctl discovery`.
var Discovery = &Set{
	Name:  "discovery",
	Short: "Discovery tokens: members started with one token find each other",
	Commands: []*Command{{
		Path:  []string{"new"},
		Short: "Prints a fresh random discovery token",
		Long: `Prints a new token of 128 random bits for larch --discovery-token. With --size N the
token carries the initial cluster's size, and members started with it need no
--discovery-size. Keep the token secret: it admits members and encrypts their gossip.`,
		Flags: []Flag{{Name: "size", Usage: "the initial cluster's size, carried in the token"}},
		run:   newToken,
	}},
}

func newToken(std IO, v Values, args []string) error {
	if len(args) != 0 {
		return usagef("discovery new takes no arguments")
	}
	size := 0
	if s := v.String("size"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return usagef("--size must be a positive number, got %q", s)
		}
		size = n
	}
	random := make([]byte, 16)
	if _, err := rand.Read(random); err != nil {
		return err
	}
	token := hex.EncodeToString(random)
	if size > 0 {
		// The form larch reads back with discovery.TokenSize.
		token = strconv.Itoa(size) + "-" + token
	}
	_, err := fmt.Fprintln(std.Stdout, token)
	return err
}
