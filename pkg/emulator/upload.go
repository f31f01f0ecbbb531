package emulator

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

// postedFile is one multipart part that carried a filename= parameter.
type postedFile struct {
	field    string
	filename string
	tmp      string // where it was streamed to, when kept
	size     int64
}

// form is the streamed result of reading a multipart body: every file part
// is noted, only the ones keep() wants are written to disk.
type form struct {
	files []*postedFile
}

func (f *form) cleanup() {
	for _, p := range f.files {
		if p.tmp != "" {
			_ = os.Remove(p.tmp)
		}
	}
}

var errBodyTooLarge = errors.New("request body too large")

// limitedBody stops a body that grows past the limit without a
// Content-Length (chunked).
type limitedBody struct {
	r     io.Reader
	left  int64
	limit int64
}

func (l *limitedBody) Read(p []byte) (int, error) {
	if l.left <= 0 {
		return 0, errBodyTooLarge
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}

// readForm streams the multipart body part by part (never the whole body
// in memory) into temporary files beside UpdateFile. keep decides, from
// the files seen before, whether to save a part.
func (s *Server) readForm(r *http.Request, keep func(seen []*postedFile, p *postedFile) bool) (*form, error) {
	f := &form{}
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || !strings.HasPrefix(mt, "multipart/") || params["boundary"] == "" {
		_, _ = io.Copy(io.Discard, &limitedBody{r: r.Body, left: s.cfg.MaxRequestBytes + 1})
		return f, nil
	}
	mr := multipart.NewReader(&limitedBody{r: r.Body, left: s.cfg.MaxRequestBytes + 1, limit: s.cfg.MaxRequestBytes}, params["boundary"])
	for {
		part, err := mr.NextRawPart()
		if errors.Is(err, io.EOF) {
			return f, nil
		}
		if err != nil {
			return f, err
		}
		field, filename, isFile := disposition(part)
		if !isFile {
			if _, err := io.Copy(io.Discard, part); err != nil {
				return f, err
			}
			continue
		}
		pf := &postedFile{field: field, filename: filename}
		if keep(f.files, pf) {
			tmp, err := os.CreateTemp(s.cfg.Dir, ".upload-*")
			if err != nil {
				return f, err
			}
			pf.tmp = tmp.Name()
			f.files = append(f.files, pf)
			pf.size, err = io.Copy(tmp, part)
			if cerr := tmp.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return f, err
			}
			continue
		}
		f.files = append(f.files, pf)
		if pf.size, err = io.Copy(io.Discard, part); err != nil {
			return f, err
		}
	}
}

// disposition reads the part's name and whether it is a file: the
// filename= parameter must be present (§1.2), even if empty.
func disposition(p *multipart.Part) (field, filename string, isFile bool) {
	_, params, err := mime.ParseMediaType(p.Header.Get("Content-Disposition"))
	if err != nil {
		return "", "", false
	}
	filename, isFile = params["filename"]
	// Browsers and old clients send full client paths; keep the base name.
	if i := strings.LastIndexAny(filename, `/\`); i >= 0 {
		filename = filename[i+1:]
	}
	return params["name"], filename, isFile
}

func firstField(seen []*postedFile, name string) bool {
	for _, p := range seen {
		if strings.EqualFold(p.field, name) {
			return false
		}
	}
	return true
}

func firstSuffix(seen []*postedFile, suffix string) bool {
	for _, p := range seen {
		if hasSuffixFold(p.filename, suffix) {
			return false
		}
	}
	return true
}

func hasSuffixFold(s, suffix string) bool {
	return len(s) >= len(suffix) && strings.EqualFold(s[len(s)-len(suffix):], suffix)
}

// upload is the UploadExe handler per flavor (§1.2, §3.2, §4.2): read the
// form, find the EXE (and DLL) parts, then save them as the flavor does.
func (s *Server) upload(w http.ResponseWriter, r *http.Request) {
	f, ok := s.uploadForm(w, r)
	defer f.cleanup()
	if !ok {
		return
	}
	exe, dll := s.uploadParts(f)
	if !s.uploadFound(w, f, exe) {
		return
	}
	if s.cfg.Flavor == WebServer726 {
		if len(f.files) != 2 {
			dll = nil
		}
		s.saveWebServer(w, exe, dll)
		return
	}
	s.saveModule(w, exe, dll)
}

// byName reports whether the flavor takes the part named File (7.14, the
// FoxPro upload) rather than the first .exe and .dll file names (7.15+).
func (s *Server) byName() bool { return s.cfg.Flavor == Module714 || s.cfg.Flavor == ISAPI }

// uploadForm streams the form, keeping the parts the flavor looks at. It
// answers the request and reports false when the body cannot be used.
func (s *Server) uploadForm(w http.ResponseWriter, r *http.Request) (*form, bool) {
	flavor := s.cfg.Flavor
	if flavor == WebServer726 {
		mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil || (mt != "multipart/form-data" && mt != "application/x-www-form-urlencoded") {
			s.drain(w, r)
			s.writePage(w, http.StatusInternalServerError, hdrError, "Incorrect Content-Type: "+r.Header.Get("Content-Type"))
			return &form{}, false
		}
	}
	byName := s.byName()
	f, err := s.readForm(r, func(seen []*postedFile, p *postedFile) bool {
		if byName {
			return strings.EqualFold(p.field, "File") && firstField(seen, "File")
		}
		return (hasSuffixFold(p.filename, ".exe") && firstSuffix(seen, ".exe")) ||
			(hasSuffixFold(p.filename, ".dll") && firstSuffix(seen, ".dll"))
	})
	if err == nil {
		return f, true
	}
	w.Header().Set("Connection", "close")
	switch {
	case errors.Is(err, errBodyTooLarge) && flavor == WebServer726:
		s.writePage(w, http.StatusInternalServerError, hdrError, fmt.Sprintf("Request body too large. The max request body size is %d bytes.", s.cfg.MaxRequestBytes))
	case errors.Is(err, errBodyTooLarge):
		s.writeError(w, "Maximum request length exceeded.")
	default:
		s.writeError(w, "The multipart request body could not be read: "+err.Error())
	}
	return f, false
}

// uploadParts picks the EXE and the DLL among the posted files.
func (s *Server) uploadParts(f *form) (exe, dll *postedFile) {
	byName := s.byName()
	for _, p := range f.files {
		switch {
		case byName && exe == nil && strings.EqualFold(p.field, "File"):
			exe = p
		case !byName && exe == nil && hasSuffixFold(p.filename, ".exe"):
			exe = p
		case !byName && dll == nil && hasSuffixFold(p.filename, ".dll"):
			dll = p
		}
	}
	return exe, dll
}

// uploadFound answers the flavor's "no file" pages and reports whether an
// EXE was posted.
func (s *Server) uploadFound(w http.ResponseWriter, f *form, exe *postedFile) bool {
	none, noExe := [2]string{hdrNoFiles, msgNoFile}, [2]string{hdrNoExe, msgNoExe}
	switch s.cfg.Flavor {
	case Module714, ISAPI:
		none, noExe = [2]string{hdrMissingFile, msgNoFile}, [2]string{hdrMissingFile, msgNoFile}
	case WebServer726:
		none = [2]string{hdrInvalidUpload, msgInvalidUpload}
	}
	switch {
	case len(f.files) < 1:
		s.writePage(w, http.StatusInternalServerError, none[0], none[1])
	case exe == nil:
		s.writePage(w, http.StatusInternalServerError, noExe[0], noExe[1])
	default:
		return true
	}
	return false
}

// saveWebServer saves as the Web Server does: no try/catch around the
// save, so any I/O error is "An Error occurred".
func (s *Server) saveWebServer(w http.ResponseWriter, exe, dll *postedFile) {
	if err := s.saveUpload(exe, dll, changeExt(s.updatePath, ".dll")); err != nil {
		s.writePage(w, http.StatusInternalServerError, hdrError, saveMessage(err))
		return
	}
	fi, err := os.Stat(s.updatePath)
	if err != nil {
		s.writePage(w, http.StatusInternalServerError, hdrError, saveMessage(err))
		return
	}
	s.writePage(w, http.StatusOK, hdrUploaded, s.uploadedMessage(fi.Size()))
}

// saveModule saves as the module does: a failed delete/save writes its page
// and carries on (§3.2).
func (s *Server) saveModule(w http.ResponseWriter, exe, dll *postedFile) {
	var body string
	if err := s.saveUpload(exe, dll, changeExt(s.updatePath, ".dll")); err != nil {
		body = s.render(hdrUnableSave, msgUnableSave+saveMessage(err))
	}
	status := http.StatusOK
	if fi, err := os.Stat(s.updatePath); err == nil {
		body += s.render(hdrUploaded, s.uploadedMessage(fi.Size()))
	} else {
		status = http.StatusInternalServerError
		body += s.render(hdrError, msgUnknownPrefix+"Could not find file '"+s.updatePath+"'.")
	}
	s.writeRaw(w, status, body, true)
}

// saveUpload deletes the old targets and moves the streamed parts into place.
func (s *Server) saveUpload(exe, dll *postedFile, updateDll string) error {
	if f := s.takeFault("uploadexe", FaultUploadDeleteFails); f != nil {
		if _, err := os.Stat(s.updatePath); err == nil {
			return &copyError{s.updatePath, fs.ErrPermission}
		}
	}
	if err := removeIfExists(s.updatePath); err != nil {
		return &copyError{s.updatePath, err}
	}
	if s.cfg.Flavor != Module714 && s.cfg.Flavor != ISAPI {
		if err := removeIfExists(updateDll); err != nil {
			return &copyError{updateDll, err}
		}
	}
	if err := os.Rename(exe.tmp, s.updatePath); err != nil {
		return &copyError{s.updatePath, err}
	}
	exe.tmp = ""
	if dll == nil {
		return nil
	}
	if s.cfg.Flavor == WebServer726 && s.cfg.WebServerDLLBug {
		// 7.26 copies the EXE stream into the .dll target.
		if err := copyPlain(s.updatePath, updateDll); err != nil {
			return &copyError{updateDll, err}
		}
		return nil
	}
	if err := os.Rename(dll.tmp, updateDll); err != nil {
		return &copyError{updateDll, err}
	}
	dll.tmp = ""
	return nil
}

func saveMessage(err error) string {
	var ce *copyError
	if errors.As(err, &ce) {
		return ce.netMessage()
	}
	return err.Error()
}

func removeIfExists(p string) error {
	if err := checkWritable(p); err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

func copyPlain(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// uploadZip is UploadZip: part FileZip saved to <ExeFile dir>/temp/<name>.
func (s *Server) uploadZip(w http.ResponseWriter, r *http.Request) {
	f, err := s.readForm(r, func(seen []*postedFile, p *postedFile) bool {
		return strings.EqualFold(p.field, "FileZip") && firstField(seen, "FileZip")
	})
	defer f.cleanup()
	if err != nil {
		w.Header().Set("Connection", "close")
		s.writeError(w, "The multipart request body could not be read: "+err.Error())
		return
	}
	var zip *postedFile
	for _, p := range f.files {
		if strings.EqualFold(p.field, "FileZip") {
			zip = p
			break
		}
	}
	if zip == nil || zip.filename == "" {
		s.writePage(w, http.StatusInternalServerError, hdrMissingFile, msgNoFile)
		return
	}
	dir := filepath.Join(filepath.Dir(s.exePath), "temp")
	target := filepath.Join(dir, filepath.Base(zip.filename))
	if err := os.MkdirAll(dir, 0o755); err == nil {
		_ = os.Remove(target)
		err = os.Rename(zip.tmp, target)
		if err == nil {
			zip.tmp = ""
		}
	}
	if err != nil {
		s.writePage(w, http.StatusInternalServerError, hdrUnableSave, msgUnableSave+netMessage(err, target))
		return
	}
	s.writePage(w, http.StatusOK, hdrUploaded, "<h3>File Uploaded:</h3> \r\n<p>\r\n    "+target+" ("+s.n0(zip.size)+" bytes)\r\n</p>")
}
