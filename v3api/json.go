package v3api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc/status"
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

// gatewayErrorHandler is the gateway's default error handler, but with
// protobuf-go's error prefix made plain. protojson's errors start with
// "proto:" and then, chosen per binary to keep people from matching on
// them, a space or a no-break space; etcd's binary says "proto: ", so bad
// JSON gets the same message from Larch.
func gatewayErrorHandler(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
	if st, ok := status.FromError(err); ok && strings.Contains(st.Message(), "\u00a0") {
		err = status.Error(st.Code(), strings.ReplaceAll(st.Message(), "proto:\u00a0", "proto: "))
	}
	runtime.DefaultHTTPErrorHandler(ctx, mux, m, w, r, err)
}
