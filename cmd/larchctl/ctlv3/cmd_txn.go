package ctlv3

import (
	"bufio"
	"context"
	"fmt"

	"github.com/spf13/cobra"
)

func (c *ctl) newTxnCommand() *cobra.Command {
	var interactive bool
	cmd := &cobra.Command{
		Use:   "txn [options]",
		Short: "Txn processes all the requests in one transaction",
		Long: `Txn reads requests from standard input and applies them atomically, as one transaction.

The input has three parts, each ended by an empty line:
1) conditions (compares), all of which must hold,
2) requests to apply when they all hold,
3) requests to apply when any of them fails.

Example, with the prompts of interactive mode:

---
etcdctl txn -i
# compares:
value("config/mode") = "blue"

# success requests (get, put, delete):
put config/mode "green"
get config/mode

# failure requests (get, put, delete):
get config/mode
---

See etcdctl's README (txn options) for the full grammar.`,
	}
	cmd.Flags().BoolVarP(&interactive, "interactive", "i", false, "Input transaction in interactive mode")
	cmd.Run = c.run(func(cmd *cobra.Command, args []string) error {
		if len(args) != 0 {
			return failf(exitBadArgs, "txn command does not accept argument")
		}
		prompt := func(s string) {
			if interactive {
				fmt.Fprintln(c.stdout, s)
			}
		}

		r := bufio.NewReader(c.env.Stdin)
		cli, err := c.client(cmd)
		if err != nil {
			return err
		}
		// No --command-timeout here: etcdctl commits a txn without a deadline.
		txn := cli.Txn(context.Background())

		prompt("compares:")
		cmps, err := readCompares(r)
		if err != nil {
			return err
		}
		txn = txn.If(cmps...)
		prompt("success requests (get, put, del):")
		thenOps, err := c.readOps(r)
		if err != nil {
			return err
		}
		txn = txn.Then(thenOps...)
		prompt("failure requests (get, put, del):")
		elseOps, err := c.readOps(r)
		if err != nil {
			return err
		}
		txn = txn.Else(elseOps...)

		resp, err := txn.Commit()
		if err != nil {
			return fail(exitError, err)
		}
		return c.display.Txn(*resp)
	})
	return cmd
}
