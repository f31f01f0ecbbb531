package config

import "time"

// Every default value of wcdeploy, in this one file. The packages below
// config (transport, uploader, swapper, deploy, rollout) take the values a
// Profile carries and choose none of their own.

// Defaults returns the profile values used when nothing sets them.
func Defaults() Profile {
	return Profile{
		Auth:   AuthAuto,
		Flavor: FlavorModule,
		Timeouts: Timeouts{
			Connect:  10 * time.Second,
			Response: 60 * time.Second,
			Swap:     120 * time.Second,
			Status:   30 * time.Second,
			Keychain: 5 * time.Second,
		},
		Retries:     3,
		Rollout:     Rollout{Parallel: 4, Canary: 1, MaxFailures: 0},
		ArchiveKeep: 5,
	}
}

// Health check defaults, for entries that leave fields out.
const (
	DefaultHealthStatus   = 200
	DefaultHealthTimeout  = 10 * time.Second
	DefaultHealthRetries  = 5
	DefaultHealthInterval = 2 * time.Second
)

// DefaultHealth returns a health check of url with every other field at its
// default.
func DefaultHealth(url string) Health {
	return Health{URL: url, Status: DefaultHealthStatus, Timeout: DefaultHealthTimeout,
		Retries: DefaultHealthRetries, Interval: DefaultHealthInterval}
}

// DefaultHookTimeout bounds one hook when rollout.hooks.timeout is not set
// (Hooks.Timeout 0).
const DefaultHookTimeout = 60 * time.Second
