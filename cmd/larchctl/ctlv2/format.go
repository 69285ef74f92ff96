package ctlv2

import (
	"encoding/json"
	"fmt"

	client "go.etcd.io/etcd/client/v2"
)

// printResponse writes a keys response in the --output format: simple (the value, or the
// previous value of a delete), extended (RFC 2822-style headers, then the value) or json
// (the client's Response as JSON, one line). Any other format is reported on stderr and
// does not change the exit code.
func (c *ctl) printResponse(resp *client.Response) {
	out := c.env.Stdout
	switch format := c.global.String("output"); format {
	case "simple":
		if resp.Action != "delete" {
			fmt.Fprintln(out, resp.Node.Value)
		} else {
			fmt.Fprintln(out, "PrevNode.Value:", prevValue(resp))
		}
	case "extended":
		fmt.Fprintln(out, "Key:", resp.Node.Key)
		fmt.Fprintln(out, "Created-Index:", resp.Node.CreatedIndex)
		fmt.Fprintln(out, "Modified-Index:", resp.Node.ModifiedIndex)
		if resp.PrevNode != nil {
			fmt.Fprintln(out, "PrevNode.Value:", resp.PrevNode.Value)
		}
		fmt.Fprintln(out, "TTL:", resp.Node.TTL)
		fmt.Fprintln(out, "Index:", resp.Index)
		if resp.Action != "delete" {
			fmt.Fprintln(out, "")
			fmt.Fprintln(out, resp.Node.Value)
		}
	case "json":
		b, err := json.Marshal(resp)
		if err != nil {
			panic(fmt.Sprintf("ctlv2: encoding %#v: %v", resp, err))
		}
		fmt.Fprintln(out, string(b))
	default:
		fmt.Fprintln(c.env.Stderr, "Unsupported output format:", format)
	}
}

func prevValue(resp *client.Response) string {
	if resp.PrevNode == nil {
		return ""
	}
	return resp.PrevNode.Value
}
