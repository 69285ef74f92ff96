package v3api

import (
	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/prometheus/client_golang/prometheus"
)

// grpcMetrics are the gRPC server's metrics under the names etcd exports
// (grpc_server_started_total, grpc_server_handled_total,
// grpc_server_msg_received_total, grpc_server_msg_sent_total), by service,
// method and code, so that etcd's dashboards work.
var grpcMetrics = grpcprom.NewServerMetrics()

func init() { prometheus.MustRegister(grpcMetrics) }
