package v3api

import (
	"bytes"
	"encoding/json"
	"io"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/protobuf/encoding/protojson"
)

// compactJSON is the gateway's marshaler: protojson with proto field names,
// without unpopulated fields, as etcd configures it, and then compacted.
// protojson deliberately inserts a space after some commas, chosen per
// binary, to keep people from depending on its bytes; Larch promises
// etcd's exact bytes, so it removes them.
type compactJSON struct {
	runtime.JSONPb
}

func newGatewayMarshaler() runtime.Marshaler {
	return &runtime.HTTPBodyMarshaler{Marshaler: &compactJSON{runtime.JSONPb{
		MarshalOptions:   protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: false},
		UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: true},
	}}}
}

func (c *compactJSON) Marshal(v any) ([]byte, error) {
	b, err := c.JSONPb.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	out.Grow(len(b))
	if err := json.Compact(&out, b); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

func (c *compactJSON) NewEncoder(w io.Writer) runtime.Encoder {
	return runtime.EncoderFunc(func(v any) error {
		b, err := c.Marshal(v)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	})
}
