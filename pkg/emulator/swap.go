package emulator

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// swap is HandleUpdateExe (§4.3): hold, sleep, copy UpdateFile over ExeFile
// (and the DLL on 7.15+), release the hold in a finally, then the page.
//
// Like the real module it carries on when the client disconnects during
// the sleep (Thread.Sleep does not notice): the swap happens anyway, and a
// client that lost the reply must read the status page to learn the result.
func (s *Server) swap(w http.ResponseWriter, r *http.Request) {
	err := func() error {
		s.hold.Store(true)
		defer s.hold.Store(false)
		if !s.sleep(context.Background(), s.cfg.SwapDelay) {
			return errors.New("The operation was canceled because the server is shutting down.")
		}
		if f := s.takeFault("updateexe", FaultSwapCopy); f != nil {
			msg := f.Message
			if msg == "" {
				msg = "The process cannot access the file '" + s.exePath + "' because it is being used by another process."
			}
			return errors.New(msg)
		}
		if err := copyKeepTime(s.updatePath, s.exePath); err != nil {
			return err
		}
		if s.cfg.Flavor != Module714 && s.cfg.Flavor != ISAPI {
			dll := changeExt(s.updatePath, ".dll")
			if _, err := os.Stat(dll); err == nil {
				if err := copyKeepTime(dll, changeExt(s.exePath, ".dll")); err != nil {
					return err
				}
			}
		}
		override := ""
		if f := s.takeFault("updateexe", FaultVersionMismatch); f != nil {
			override = f.Version
			if override == "" {
				override = "0.0.0.0"
			}
		}
		s.mu.Lock()
		s.versionOverride = override
		s.mu.Unlock()
		return nil
	}()
	if err != nil {
		msg := err.Error()
		var ce *copyError
		if errors.As(err, &ce) {
			msg = ce.netMessage()
		}
		if s.cfg.Flavor == ISAPI {
			s.writeRaw(w, http.StatusInternalServerError, isapiPage("Exe Not Updated",
				"The Exe file could not be updated: "+msg+"<br/><br/>"+s.updatePath+" to "+s.exePath), true)
			return
		}
		// UpdateFile appears as configured (a relative name), ExeFile resolved.
		s.writePage(w, http.StatusInternalServerError, hdrSwapFailed,
			"The file copy failed: "+msg+"<br/><br/>"+filepath.Base(s.updatePath)+" to "+s.exePath)
		return
	}
	version, mod := s.exeInfo()
	size := "n/a"
	if fi, err := os.Stat(s.exePath); err == nil {
		size = s.n0(fi.Size() / 1000)
	}
	details := "File Name: " + filepath.Base(s.exePath) + "<br/>File Size: " + size + " kb<br/>File Version: " + version +
		"<br/>File Date: " + s.dateG(mod)
	if s.cfg.Flavor == ISAPI {
		s.writeRaw(w, http.StatusOK, isapiPage("Exe Updated", "The Exe file has been updated.<br/><br/>"+details), true)
		return
	}
	s.writePage(w, http.StatusOK, hdrSwapped,
		"The Exe file has been updated on your server and the latest version is now running.<br/><br/>"+details+
			"<hr/><p><a href='"+s.absURL(r, "/admin/Administration.wc")+"' class='btn btn-primary'>Back to Admin Page</a>")
}

func (s *Server) absURL(r *http.Request, p string) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + p
}

func changeExt(p, ext string) string { return strings.TrimSuffix(p, filepath.Ext(p)) + ext }

// copyError remembers which file a copy step failed on, for .NET-style text.
type copyError struct {
	path string
	err  error
}

func (e *copyError) Error() string { return e.path + ": " + e.err.Error() }
func (e *copyError) Unwrap() error { return e.err }

// netMessage words the error as .NET's File.Copy would.
func (e *copyError) netMessage() string { return netMessage(e.err, e.path) }

func netMessage(err error, path string) string {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "Could not find file '" + path + "'."
	case errors.Is(err, fs.ErrPermission), errors.Is(err, syscall.EROFS):
		return "Access to the path '" + path + "' is denied."
	case errors.Is(err, syscall.ETXTBSY), errors.Is(err, syscall.EBUSY):
		return "The process cannot access the file '" + path + "' because it is being used by another process."
	}
	return err.Error()
}

// copyKeepTime copies src over dst like File.Copy(src, dst, true), which
// keeps src's last-write time. It writes beside dst and renames, so a
// reader never sees half an EXE.
func copyKeepTime(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return &copyError{src, err}
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return &copyError{src, err}
	}
	if err := checkWritable(dst); err != nil {
		return &copyError{dst, err}
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".swap-*")
	if err != nil {
		return &copyError{dst, err}
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, in); err != nil {
		tmp.Close()
		return &copyError{dst, err}
	}
	if err := tmp.Close(); err != nil {
		return &copyError{dst, err}
	}
	_ = os.Chmod(tmp.Name(), 0o755)
	if err := os.Chtimes(tmp.Name(), fi.ModTime(), fi.ModTime()); err != nil {
		return &copyError{dst, err}
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return &copyError{dst, err}
	}
	return nil
}

// checkWritable refuses a read-only target, as Windows refuses to
// overwrite a read-only file (rename alone would replace it).
func checkWritable(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	if fi.Mode().Perm()&0o200 == 0 {
		return fs.ErrPermission
	}
	return nil
}
