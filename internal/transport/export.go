package transport

import "crypto/tls"

// TLSConfig is the TLS set-up the client of New uses: TLS 1.2 or newer,
// the system roots plus caFile (a PEM file) when given, and certificate
// checks off only when insecure is set. RootCAs is nil without caFile,
// which means the system roots. doctor uses it to show and verify a
// server's chain exactly as a deploy would trust it.
func TLSConfig(caFile string, insecure bool) (*tls.Config, error) {
	conf := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: insecure} //nolint:gosec // only when the user asks, and the caller warns
	if caFile != "" {
		pool, err := loadCA(caFile)
		if err != nil {
			return nil, err
		}
		conf.RootCAs = pool
	}
	return conf, nil
}
