package ctlv3

import (
	"testing"

	"go.uber.org/goleak"
)

// Every client an invocation opens is closed when Run returns.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
