package v3api_test

import (
	"bytes"
	"fmt"
	"net"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// rawH2 drives one h2c connection frame by frame.
type rawH2 struct {
	t  *testing.T
	c  net.Conn
	fr *http2.Framer
}

func dialRawH2(t *testing.T, addr string) *rawH2 {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte(http2.ClientPreface)); err != nil {
		t.Fatal(err)
	}
	fr := http2.NewFramer(c, c)
	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	return &rawH2{t: t, c: c, fr: fr}
}

func (r *rawH2) get(stream uint32, path string, split bool) {
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	for _, f := range [][2]string{{":method", "GET"}, {":scheme", "http"}, {":path", path}, {":authority", "x"}} {
		enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	b := hb.Bytes()
	if !split {
		r.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: stream, BlockFragment: b, EndHeaders: true, EndStream: true})
		return
	}
	r.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: stream, BlockFragment: b[:2], EndStream: true})
	r.fr.WriteContinuation(stream, true, b[2:])
}

// until reads frames, ACKing server SETTINGS, until stream's response ends
// or, with stream 0, until the first SETTINGS arrives.
func (r *rawH2) until(stream uint32, ackSettings bool) error {
	for {
		f, err := r.fr.ReadFrame()
		if err != nil {
			return err
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() && ackSettings {
				r.fr.WriteSettingsAck()
			}
			if stream == 0 && !f.IsAck() {
				return nil
			}
		case *http2.GoAwayFrame:
			return fmt.Errorf("GOAWAY %v", f.ErrCode)
		case *http2.MetaHeadersFrame:
			if f.StreamID == stream && f.StreamEnded() {
				return nil
			}
		case *http2.DataFrame:
			if f.StreamID == stream && f.StreamEnded() {
				return nil
			}
		}
	}
}

// TestRawH2Orders: clients that order their frames in
// other legal ways than Go's transport, against the real cmux matcher.
func TestRawH2Orders(t *testing.T) {
	m := startMember(t, nil)
	addr := m.listener.Addr().String()
	t.Run("ack before headers", func(t *testing.T) {
		r := dialRawH2(t, addr)
		r.fr.WriteSettings()
		if err := r.until(0, true); err != nil { // cmux's SETTINGS, ACKed at once
			t.Fatal(err)
		}
		r.get(1, "/version", false)
		if err := r.until(1, true); err != nil {
			t.Fatal(err)
		}
		r.get(3, "/health", false)
		if err := r.until(3, true); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("two settings then headers with continuation", func(t *testing.T) {
		r := dialRawH2(t, addr)
		r.fr.WriteSettings()
		r.fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1 << 20})
		r.get(1, "/version", true)
		if err := r.until(1, true); err != nil {
			t.Fatal(err)
		}
		r.get(3, "/health", false)
		if err := r.until(3, true); err != nil {
			t.Fatal(err)
		}
	})
}
