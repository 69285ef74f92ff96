package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// benchV2 runs the v2 HTTP scenarios: "v2set" (PUT /v2/keys/<key> with a
// form value) and "v2get" (GET /v2/keys/<key>), with one client and with
// o.clients clients. HTTP/1.1 carries one request at a time per
// connection, so every client has its own keep-alive connection.
func benchV2(o options, endpoint, scenario string) error {
	transport := &http.Transport{MaxIdleConnsPerHost: o.clients, MaxConnsPerHost: o.clients}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport, Timeout: requestTimeout}
	raw := make([]byte, o.valSize/2)
	if _, err := rand.Read(raw); err != nil {
		return err
	}
	body := url.Values{"value": {hex.EncodeToString(raw)}}.Encode()
	base := "http://" + endpoint + "/v2/keys/bench/"
	do := func(method, key string, withBody bool) error {
		var rd io.Reader
		if withBody {
			rd = strings.NewReader(body)
		}
		ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, method, base+key, rd)
		if err != nil {
			return err
		}
		if withBody {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			return err
		}
		if resp.StatusCode >= 300 {
			return fmt.Errorf("%s %s: %s", method, key, resp.Status)
		}
		return nil
	}
	key := func(i int) string { return fmt.Sprintf("%0*d", o.keySize, i%o.keySpace) }
	if scenario == "v2get" {
		if err := loadN(o.clients, o.keySpace, func(i int) error { return do(http.MethodPut, key(i), true) }, nil); err != nil {
			return err
		}
	}
	for _, nclients := range []int{1, o.clients} {
		total := o.total
		if nclients == 1 {
			total = min(o.total, 2000)
		}
		lat := make([]time.Duration, total)
		start := time.Now()
		err := loadN(nclients, total, func(i int) error {
			t := time.Now()
			var err error
			if scenario == "v2set" {
				err = do(http.MethodPut, key(i), true)
			} else {
				err = do(http.MethodGet, key(i), false)
			}
			lat[i] = time.Since(t)
			return err
		}, progress(scenario, total))
		if err != nil {
			return err
		}
		report(fmt.Sprintf("%-9s clients=%d conns=%d", scenario, nclients, nclients), total, time.Since(start), lat)
	}
	return nil
}
