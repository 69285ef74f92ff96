package ctlv3

import (
	"fmt"

	"github.com/spf13/cobra"
)

func (c *ctl) newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Prints the version of etcdctl",
		Run: func(*cobra.Command, []string) {
			fmt.Fprintln(c.stdout, "etcdctl version:", Version)
			fmt.Fprintln(c.stdout, "API version:", APIVersion)
		},
	}
}
