package ctlv3

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// writeUsage prints the usage text of cmd in etcdctl's layout:
//
//	NAME:
//	  etcdctl get - Gets the key or a range of keys     (root: "etcdctl - …")
//
//	USAGE:
//	  etcdctl get [options] <key> [range_end] [flags]
//
// then VERSION (root only), API VERSION and COMMANDS (commands with subcommands),
// DESCRIPTION (the Long text), OPTIONS (local flags) and GLOBAL OPTIONS (inherited flags),
// each after an empty line, and a final empty line. Everything goes through one tabwriter
// that pads with tabs, which lines up the command and flag columns.
func writeUsage(w io.Writer, cmd *cobra.Command) {
	tw := tabwriter.NewWriter(w, 0, 8, 1, '\t', 0)
	var b strings.Builder

	b.WriteString("NAME:\n")
	if cmd.HasParent() {
		b.WriteString(indent(relativeName(cmd, cmd.Root()) + " - " + cmd.Short))
	} else {
		b.WriteString(indent(cmd.Name() + " - " + cmd.Short))
	}
	b.WriteString("\n\nUSAGE:\n")
	b.WriteString(indent(cmd.UseLine()))
	b.WriteString("\n")
	if !cmd.HasParent() {
		b.WriteString("\nVERSION:\n" + indent(Version) + "\n")
	}
	if cmd.HasSubCommands() {
		b.WriteString("\nAPI VERSION:\n" + indent(APIVersion) + "\n")
	}
	if cmd.HasExample() {
		b.WriteString("\nExamples:\n" + cmd.Example + "\n")
	}
	if cmd.HasSubCommands() {
		b.WriteString("\nCOMMANDS:\n")
		for _, sub := range descendants(cmd) {
			if sub.Runnable() {
				b.WriteString(indent(relativeName(sub, cmd)+"\t"+sub.Short) + "\n")
			}
		}
	}
	if cmd.Long != "" {
		b.WriteString("\nDESCRIPTION:\n")
		for _, line := range strings.Split(strings.Trim(cmd.Long, "\n\t "), "\n") {
			b.WriteString(indent(line) + "\n")
		}
	}
	if cmd.HasLocalFlags() {
		b.WriteString("\nOPTIONS:\n" + flagUsages(cmd.LocalFlags()))
	}
	if cmd.HasInheritedFlags() {
		b.WriteString("\nGLOBAL OPTIONS:\n" + flagUsages(cmd.InheritedFlags()))
	}
	b.WriteString("\n")

	io.WriteString(tw, b.String())
	tw.Flush()
}

// indent puts two spaces before every line of s.
func indent(s string) string {
	return "  " + strings.ReplaceAll(s, "\n", "\n  ")
}

// relativeName is the command path of cmd below start ("member list" below the root,
// "list" below member). Like etcdctl it stops at the first ancestor named like start.
func relativeName(cmd, start *cobra.Command) string {
	parts := []string{cmd.Name()}
	for cmd.HasParent() && cmd.Parent().Name() != start.Name() {
		cmd = cmd.Parent()
		parts = append([]string{cmd.Name()}, parts...)
	}
	return strings.Join(parts, " ")
}

// descendants lists every command below cmd, depth first, children in cobra's order.
func descendants(cmd *cobra.Command) []*cobra.Command {
	var out []*cobra.Command
	for _, sub := range cmd.Commands() {
		out = append(out, sub)
		out = append(out, descendants(sub)...)
	}
	return out
}

// flagUsages lists flags one per line: `  -w, --write-out="simple"<TAB>usage`, with
// `      --name` when there is no shorthand, `[=default]` for flags that take an optional
// value (booleans), and string defaults quoted. Deprecated flags are left out; hidden ones
// are not, as in etcdctl.
func flagUsages(fs *pflag.FlagSet) string {
	var b strings.Builder
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Deprecated != "" {
			return
		}
		if f.Shorthand != "" {
			fmt.Fprintf(&b, "  -%s, --%s", f.Shorthand, f.Name)
		} else {
			fmt.Fprintf(&b, "      --%s", f.Name)
		}
		def := f.DefValue
		if f.Value.Type() == "string" {
			def = fmt.Sprintf("%q", def)
		}
		if f.NoOptDefVal != "" {
			fmt.Fprintf(&b, "[=%s]", def)
		} else {
			fmt.Fprintf(&b, "=%s", def)
		}
		fmt.Fprintf(&b, "\t%s\n", f.Usage)
	})
	return b.String()
}
