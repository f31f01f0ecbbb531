package deploy

import (
	"context"
	"net/http"

	"github.com/wcdeploy/wcdeploy/internal/exitcode"
	"github.com/wcdeploy/wcdeploy/internal/rollout"
	"github.com/wcdeploy/wcdeploy/pkg/uploader"
)

// SizeProbed says whether the preflight asks a server about the build's
// size: only above the stock request limit, which every server takes.
func SizeProbed(b rollout.Build) bool { return b.Size > uploader.DefaultRequestLimit }

// CheckSize is the preflight's size check: for a build above the stock
// request limit it asks the server, without sending the EXE, whether it
// takes an upload of that size (uploader.ProbeLimit), so no server of a
// fleet is staged while another one cannot take the build. Every flavor
// is asked: the ISAPI wc.dll runs under IIS's request filtering too. doctor
// calls it as well, so doctor and deploy agree on every server.
func CheckSize(ctx context.Context, c *http.Client, b rollout.Build, t rollout.Target) error {
	if !SizeProbed(b) {
		return nil
	}
	n, err := RequestSize(b)
	if err != nil {
		return err
	}
	return uploader.ProbeLimit(ctx, c, t.UploadURL, t.Flavor, n, b.Size)
}

// RequestSize is the size of the build's upload request: the EXE, the DLL
// and the multipart form around them. The size-limit advice is for it.
func RequestSize(b rollout.Build) (int64, error) {
	body, err := uploader.NewNamedBody(b.File(), b.DLLPath, b.Path)
	if err != nil {
		return 0, exitcode.New(exitcode.Usage, err)
	}
	defer body.Close()
	return body.Len(), nil
}
