package owncmd

import (
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Cobra returns set's command for the v3 command set: the commands of
// the set, writing to std, handing their errors to fail.
func Cobra(set *Set, std IO, fail func(error)) *cobra.Command {
	root := &cobra.Command{Use: set.Name + " <subcommand>", Short: set.Short}
	groups := map[string]*cobra.Command{}
	for _, c := range set.Commands {
		parent := root
		for i, word := range c.Path[:len(c.Path)-1] {
			path := strings.Join(c.Path[:i+1], " ")
			g := groups[path]
			if g == nil {
				g = &cobra.Command{Use: word + " <subcommand>", Short: set.Groups[path]}
				groups[path] = g
				parent.AddCommand(g)
			}
			parent = g
		}
		use := c.Path[len(c.Path)-1]
		if len(c.Flags) > 0 {
			use += " [options]"
		}
		if c.Args != "" {
			use += " " + c.Args
		}
		cmd := &cobra.Command{Use: use, Short: c.Short, Long: c.Long}
		for _, f := range c.Flags {
			if f.Bool {
				cmd.Flags().Bool(f.Name, false, f.Usage)
			} else {
				cmd.Flags().String(f.Name, f.Default, f.Usage)
			}
		}
		cmd.Run = func(cmd *cobra.Command, args []string) {
			if err := c.Run(std, cobraValues{cmd.Flags()}, args); err != nil {
				fail(err)
			}
		}
		parent.AddCommand(cmd)
	}
	return root
}

// cobraValues reads parsed cobra flags as [Values].
type cobraValues struct{ fs *pflag.FlagSet }

func (v cobraValues) String(name string) string {
	s, _ := v.fs.GetString(name)
	return s
}

func (v cobraValues) Bool(name string) bool {
	b, _ := v.fs.GetBool(name)
	return b
}
