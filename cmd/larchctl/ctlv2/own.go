package ctlv2

import (
	"fmt"
	"strings"

	"github.com/larchkv/larch/cmd/larchctl/internal/owncmd"
)

// ownCommand is one of larchctl's own commands (`pki`, `discovery`): the commands of an
// owncmd.Set (shared with the v3 set) as entries of the command table. It is hidden
// from the root command list.
func ownCommand(set *owncmd.Set) *command {
	root := &command{name: set.Name, usage: set.Short, hidden: true}
	for _, pc := range set.Commands {
		parent := root
		for i, word := range pc.Path[:len(pc.Path)-1] {
			g := parent.find(word)
			if g == nil {
				g = &command{name: word, usage: set.Groups[strings.Join(pc.Path[:i+1], " ")]}
				parent.sub = append(parent.sub, g)
			}
			parent = g
		}
		// urfave indents only the first line of a description; etcdctl's own texts carry
		// the indentation of the others.
		description := strings.ReplaceAll(pc.Long, "\n", "\n   ")
		cmd := &command{name: pc.Path[len(pc.Path)-1], usage: pc.Short, argsUsage: pc.Args, description: description}
		if cmd.argsUsage == "" {
			cmd.argsUsage = " "
		}
		for _, f := range pc.Flags {
			if f.Bool {
				cmd.flags = append(cmd.flags, flagDef{names: []string{f.Name}, kind: boolFlag, usage: f.Usage})
			} else {
				cmd.flags = append(cmd.flags, flagDef{names: []string{f.Name}, kind: stringFlag, value: f.Default, usage: f.Usage})
			}
		}
		cmd.run = func(c *ctl, f *flagValues) error {
			if err := pc.Run(owncmd.IO{Stdin: c.env.Stdin, Stdout: c.env.Stdout}, f, f.Args()); err != nil {
				fmt.Fprintln(c.env.Stderr, "Error:", err)
				return exitStatus(exitError)
			}
			return nil
		}
		parent.sub = append(parent.sub, cmd)
	}
	return root
}
