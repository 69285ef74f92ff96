package v3api

import (
	"fmt"

	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/protoadapt"
)

// codec is the gRPC codec of the client port. etcd's messages are generated
// by gogo/protobuf and carry their own Marshal and Unmarshal methods; the
// default codec reaches them through protobuf-go's legacy wrapper, whose
// reflection (a global lock in the runtime's type lookup among others)
// costs a tenth of a put's CPU. Calling the methods directly gives the same
// bytes.
type codec struct{}

var _ encoding.Codec = codec{}

type gogoMessage interface {
	Marshal() ([]byte, error)
	Unmarshal([]byte) error
}

func (codec) Marshal(v any) ([]byte, error) {
	if m, ok := v.(gogoMessage); ok {
		return m.Marshal()
	}
	if m, ok := v.(protoadapt.MessageV1); ok {
		return proto.Marshal(protoadapt.MessageV2Of(m))
	}
	return nil, fmt.Errorf("v3api: cannot marshal %T", v)
}

func (codec) Unmarshal(data []byte, v any) error {
	if m, ok := v.(gogoMessage); ok {
		// gogo's Unmarshal merges into the message and copies every byte
		// field out of data, which gRPC may reuse.
		if r, ok := v.(interface{ Reset() }); ok {
			r.Reset()
		}
		return m.Unmarshal(data)
	}
	if m, ok := v.(protoadapt.MessageV1); ok {
		return proto.Unmarshal(data, protoadapt.MessageV2Of(m))
	}
	return fmt.Errorf("v3api: cannot unmarshal into %T", v)
}

// Name is "proto": on the wire this is the standard protobuf codec.
func (codec) Name() string { return "proto" }

// gatewayCodec is codec for the gateway's loopback connection. A forced
// codec names the content-subtype of the call, and the gateway repeats the
// server's content-type to HTTP clients as Grpc-Metadata-Content-Type;
// etcd's gateway uses the default codec and says "application/grpc", so
// this one has no name, which leaves the subtype out.
type gatewayCodec struct{}

var _ encoding.CodecV2 = gatewayCodec{}

func (gatewayCodec) Marshal(v any) (mem.BufferSlice, error) {
	b, err := codec{}.Marshal(v)
	if err != nil {
		return nil, err
	}
	return mem.BufferSlice{mem.SliceBuffer(b)}, nil
}

func (gatewayCodec) Unmarshal(data mem.BufferSlice, v any) error {
	return codec{}.Unmarshal(data.Materialize(), v)
}

func (gatewayCodec) Name() string { return "" }
