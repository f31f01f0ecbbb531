package doctor

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/wcdeploy/wcdeploy/internal/deploy"
	"github.com/wcdeploy/wcdeploy/internal/exitcode"
	"github.com/wcdeploy/wcdeploy/internal/rollout"
	"github.com/wcdeploy/wcdeploy/internal/transport"
	"github.com/wcdeploy/wcdeploy/pkg/config"
	"github.com/wcdeploy/wcdeploy/pkg/swapper"
	"github.com/wcdeploy/wcdeploy/pkg/uploader"
)

// statusContext bounds one status-page request by the profile's status
// timeout (config owns its default; 0 leaves ctx alone).
func (s *server) statusContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if d := s.o.Profile.Timeouts.Status; d > 0 {
		return context.WithTimeout(ctx, d)
	}
	return context.WithCancel(ctx)
}

func closeIdle(c *http.Client) {
	if tr, ok := c.Transport.(interface{ CloseIdleConnections() }); ok {
		tr.CloseIdleConnections()
	}
}

// unwrapURL drops *url.Error's repetition of the URL (it may carry user
// info); the server is named by the caller.
func unwrapURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// loginCheck logs in as a deploy would: deploy's client, deploy's rules.
type loginCheck struct{}

func (loginCheck) Name() string { return "login" }

func (loginCheck) Run(ctx context.Context, s *server) Result {
	c, err := s.o.Client(s.target)
	if err != nil {
		return fail(exitcode.Of(err), err, "")
	}
	ctx, cancel := s.statusContext(ctx)
	defer cancel()
	if err := transport.Login(ctx, c, s.target.StatusURL); err != nil {
		code := exitcode.Upload
		if transport.IsAuthFailure(err) || exitcode.Of(err) == exitcode.Auth {
			code = exitcode.Auth
		}
		return fail(code, transport.Quiet(unwrapURL(err)), "")
	}
	s.client = c
	return ok(who(s.o.Profile) + " logged in")
}

func who(p config.Profile) string {
	if p.Username == "" {
		return "no user"
	}
	return p.Username
}

// adminCheck reads the status page, an admin link: it opens only for an
// account in AdminAccount, as the upload and swap links do.
type adminCheck struct{}

func (adminCheck) Name() string { return "AdminAccount" }

func (adminCheck) Run(ctx context.Context, s *server) Result {
	ctx, cancel := s.statusContext(ctx)
	defer cancel()
	st, err := swapper.FetchStatusFor(ctx, s.client, s.target.StatusURL, s.target.Flavor)
	if err != nil {
		code := exitcode.Of(err)
		if code == exitcode.Unexpected {
			code = exitcode.Upload
		}
		return fail(code, err, "")
	}
	s.status = st
	r := s.rep
	r.Version, r.ExeFile, r.UpdateFile, r.Module = st.Version, st.ExeFile, st.UpdateFile, st.Module
	return ok(who(s.o.Profile) + " passes AdminAccount (the status page opens)")
}

type versionCheck struct{}

func (versionCheck) Name() string { return "version" }

func (versionCheck) Run(_ context.Context, s *server) Result {
	if s.status.Version == "" {
		return ok("n/a")
	}
	return ok(s.status.Version)
}

type pathsCheck struct{}

func (pathsCheck) Name() string { return "paths" }

func (pathsCheck) Run(_ context.Context, s *server) Result {
	st := s.status
	if st.ExeFile == "" || st.UpdateFile == "" {
		return warn("the status page shows no ExeFile or UpdateFile",
			"set ExeFile and UpdateFile in the application's configuration (the swap needs both)")
	}
	return ok(fmt.Sprintf("ExeFile %s, UpdateFile %s", st.ExeFile, st.UpdateFile))
}

// sizeCheck is deploy's preflight size check (deploy.CheckSize), so a
// server that check would stop fails here too.
type sizeCheck struct{}

func (sizeCheck) Name() string { return "size" }

func (sizeCheck) Run(ctx context.Context, s *server) Result {
	b := s.build
	if b == nil {
		return skip("no local EXE to check")
	}
	request, err := deploy.RequestSize(*b)
	if err != nil {
		return fail(exitcode.Of(err), err, "")
	}
	advice := uploader.LimitAdvice(s.target.Flavor, request)
	ctx, cancel := s.statusContext(ctx)
	defer cancel()
	if err := deploy.CheckSize(ctx, s.client, *b, s.target); err != nil {
		code := exitcode.Of(err)
		if code == exitcode.Unexpected {
			code = exitcode.Upload
		}
		return fail(code, err, advice.Config())
	}
	mb := float64(b.Size) / 1e6
	switch {
	case deploy.SizeProbed(*b):
		return ok(fmt.Sprintf("the server takes the %.1f MB EXE (asked with the upload's headers, nothing sent)", mb))
	case aspnetLimited(s.target, request):
		return warn(fmt.Sprintf("the upload (%.1f MB) is larger than ASP.NET's default maxRequestLength of %d KB: it fails unless web.config raises it (Web Connection's generated web.config does)",
			float64(request)/1e6, uploader.DefaultASPNETRequestKB), advice.Config())
	}
	return ok(fmt.Sprintf("%.1f MB fits the default upload limits", mb))
}

// aspnetLimited: the .NET module's ASP.NET runtime has its own limit below
// the one the preflight asks about; only the upload itself can find it.
func aspnetLimited(t rollout.Target, request int64) bool {
	return t.Flavor == config.FlavorModule && request > uploader.DefaultASPNETRequestKB*1024
}
