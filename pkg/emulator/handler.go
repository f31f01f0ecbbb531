package emulator

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Admin action file names (§1.1).
var (
	moduleActions  = setOf("moduleadministration.wc, administration.wc, showserverlist.wc, readconfiguration.wc, moduletest.wc, moduleerror.wc, setinstancecount.wc, updateexe.wc, uploadexe.wc, uploadzip.wc, holdrequests.wc, maintmode.wc, togglecomserverloadingmode.wc, loadexes.wc, loadoneexe.wc, releaseexeservers.wc, shutdowninstance.wc, loadcomserver.wc, releaseservers.wc, releasecomservers.wc, loadonecomserver.wc, loadcomservers.wc, togglemessagingmode.wc, setcommode.wc, setfilemode.wc, setcomserverloadingmode.wc, togglelivereload.wc, togglelogdetail.wc, showerrorlog.wc, clearerrorlog.wc, dev.wc, livereload.wc, livereloadscript.wc")
	webServerExtra = setOf("showstatusjson.wc, reloadfromwebconfig.wc, setvirtualdirectory.wc, setextensions.wc, editconfig.wc")
	// Actions the COM-mode handler answers with the status page.
	statusActions = setOf("moduleadministration, administration, showstatus, readconfiguration, readsetupini, releasecomservers, releaseservers, release, loadcomservers, load, loadonecomserver, maintmode, shutdowninstance, togglecomserverloadingmode, setcomserverloadingmode, togglelivereload, togglelogdetail, setinstancecount, setcommode, setautomechanism, setfilemode, setfilemechanism, togglemessagingmode, loadexes, startexe, loadoneexe, startoneexe, releaseexeservers, killexe, clearerrorlog, reloadfromwebconfig, setvirtualdirectory, setextensions, editconfig")
	isapiStatus   = setOf("showstatus, showstatusxml, readsetupini, setautomechanism, setfilemechanism, release, load, maintmode, recoverdeadlock, keepalive, kill, startexe")
	handledModule = setOf(".wc, .wp, .wcs, .md")
	handledWebSrv = setOf(".wc, .wcs, .wwd")
)

func setOf(list string) map[string]bool {
	m := map[string]bool{}
	for _, v := range strings.Split(list, ",") {
		m[strings.TrimSpace(v)] = true
	}
	return m
}

// route is how a request was recognised.
type route struct {
	action  string // canonical lower-case action; "" for a normal request
	handled bool   // the path reaches the Web Connection handler at all
}

// resolve finds the admin action as §1.1 (module, Web Server) or the ISAPI
// wc.dll (§1.5) does.
func (s *Server) resolve(r *http.Request) route {
	p := r.URL.Path
	ext := strings.ToLower(path.Ext(p))
	handled := ext == "" || strings.HasSuffix(p, "/")
	switch s.cfg.Flavor {
	case WebServer726:
		handled = handled || handledWebSrv[ext]
	default:
		handled = handled || handledModule[ext]
	}
	if !handled || ext == "" {
		return route{handled: handled}
	}
	if s.cfg.Flavor == ISAPI {
		return route{action: isapiAction(r.URL.RawQuery), handled: true}
	}
	file := strings.ToLower(path.Base(p))
	if moduleActions[file] || (s.cfg.Flavor == WebServer726 && webServerExtra[file]) {
		return route{action: strings.TrimSuffix(file, path.Ext(file)), handled: true}
	}
	q, err := url.QueryUnescape(r.URL.RawQuery)
	if err != nil {
		q = r.URL.RawQuery
	}
	if strings.Contains(q, "_maintain") {
		if parts := strings.Split(q, "~"); len(parts) >= 2 {
			return route{action: strings.ToLower(parts[1]), handled: true}
		}
	}
	return route{handled: true}
}

// isapiAction reads `_maintain~CMD` and the FoxPro-side `wwMaint~FileUpload`.
// The command ends at the next `~`: a trailing `&t=1` spoils it, as on the
// module (an assumption: wc.dll's parser is not public).
func isapiAction(raw string) string {
	q, err := url.QueryUnescape(raw)
	if err != nil {
		q = raw
	}
	up := strings.ToUpper(q)
	if i := strings.Index(up, "_MAINTAIN~"); i >= 0 {
		cmd, _, _ := strings.Cut(up[i+len("_MAINTAIN~"):], "~")
		return "isapi:" + strings.ToLower(cmd)
	}
	if strings.Contains(up, "WWMAINT~FILEUPLOAD") {
		return "uploadexe"
	}
	return ""
}

// ServeHTTP handles one request.
func (s *Server) ServeHTTP(w0 http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		w0.Header().Set("Connection", "close")
		w0.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	s.handlers.Add(1)
	s.mu.Unlock()
	defer s.handlers.Done()

	start := time.Now()
	w := &recorder{ResponseWriter: w0}
	body := &countingBody{rc: r.Body, s: s}
	r.Body = body
	rt := s.resolve(r)
	action := strings.TrimPrefix(rt.action, "isapi:")
	if rt.action == "" {
		action = "page"
	}
	rec := RequestLog{Time: start, Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Action: action, Remote: r.RemoteAddr}
	defer func() {
		rec.Status = w.status
		if rec.Status == 0 && !w.hijacked {
			rec.Status = http.StatusOK
		}
		rec.BodyBytes = body.n.Load()
		rec.Duration = time.Since(start)
		s.mu.Lock()
		s.reqs = append(s.reqs, rec)
		s.mu.Unlock()
		if s.cfg.Log != nil {
			s.cfg.Log(rec)
		}
	}()

	if f := s.takeFault(action, preFaults...); f != nil {
		rec.Fault = string(f.Kind)
		if !s.preFault(w, r, f) {
			return
		}
	}
	s.serve(w, r, rt, action, &rec)
}

// serve is the request pipeline after the fault injection: IIS request
// filtering, authentication, routing, then the handler's dispatch (§1.1).
func (s *Server) serve(w *recorder, r *http.Request, rt route, action string, rec *RequestLog) {
	if s.tooLarge(w, r, action, rec) {
		return
	}
	user, mode, out := s.authenticate(w, r)
	rec.User = user
	switch out {
	case authChallenge, authFailed:
		s.drain(w, r)
		s.writeIIS401(w, r, out == authChallenge)
		return
	}
	if !rt.handled {
		s.drain(w, r)
		s.writeRaw(w, http.StatusNotFound, iisPage("404 - File or directory not found.", "The resource you are looking for might have been removed, had its name changed, or is temporarily unavailable."), false)
		return
	}
	if s.cfg.Flavor == ISAPI {
		s.serveISAPI(w, r, rt, action, user, mode)
		return
	}
	if s.serveOpen(w, r, action, user) {
		return
	}
	if !s.isAdmin(user) {
		s.drain(w, r)
		s.writeAdmin401(w, r)
		return
	}
	s.serveAdmin(w, r, action, user, mode)
}

// tooLarge answers a body over the request limit before the handler reads
// it: IIS request filtering's 404.13 (§4.5), or on the Web Server the 500
// Kestrel's form reader causes. It reports whether it answered.
func (s *Server) tooLarge(w *recorder, r *http.Request, action string, rec *RequestLog) bool {
	if r.ContentLength <= s.cfg.MaxRequestBytes {
		return false
	}
	// IIS request filtering runs before authentication and the handler
	// (§4.5); the body is not read.
	if s.cfg.Flavor != WebServer726 {
		w.Header().Set("Connection", "close")
		h := w.Header()
		h.Set("Content-Type", "text/html")
		h.Set("Server", "Microsoft-IIS/10.0")
		h.Set("X-Powered-By", "ASP.NET")
		h.Set("Content-Length", itoa(len(iis40413Page)))
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, iis40413Page)
		return true
	}
	if action != "uploadexe" {
		return false
	}
	// Kestrel throws while the form is read; WC's catch answers 500.
	// The caller is not authenticated yet at that point either way:
	// ReadFormAsync runs after AuthenticateAdmin, so check auth first.
	user, _, out := s.authenticate(w, r)
	if out == authChallenge || out == authFailed {
		s.drain(w, r)
		s.writeIIS401(w, r, out == authChallenge)
		return true
	}
	if !s.isAdmin(user) {
		s.drain(w, r)
		s.writeAdmin401(w, r)
		return true
	}
	rec.User = user
	w.Header().Set("Connection", "close")
	s.writePage(w, http.StatusInternalServerError, hdrError, fmt.Sprintf("Request body too large. The max request body size is %d bytes.", s.cfg.MaxRequestBytes))
	return true
}

// serveOpen answers what needs no admin login: normal requests and the
// module's test links. It reports whether it answered.
func (s *Server) serveOpen(w *recorder, r *http.Request, action, user string) bool {
	switch action {
	case "page":
		s.drain(w, r)
		s.normal(w, r, user)
	case "dev", "livereload", "livereloadscript":
		s.drain(w, r)
		w.WriteHeader(http.StatusNoContent)
	case "moduletest":
		s.drain(w, r)
		s.writeRaw(w, http.StatusOK, msgModuleTest, false)
	case "moduleerror":
		s.drain(w, r)
		s.writeError(w, "Module Error Test: this error was thrown deliberately.")
	default:
		return false
	}
	return true
}

// serveAdmin dispatches an admin action of an admin user (§1.4).
func (s *Server) serveAdmin(w *recorder, r *http.Request, action, user, mode string) {
	switch action {
	case "uploadexe":
		s.upload(w, r)
		return
	case "uploadzip":
		s.uploadZip(w, r)
		return
	}
	s.drain(w, r)
	switch {
	case action == "updateexe":
		s.swap(w, r)
	case action == "holdrequests":
		s.hold.Store(!s.hold.Load())
		s.statusPage(w, r, user, mode)
	case action == "showstatusjson" && s.cfg.Flavor == WebServer726:
		s.statusJSON(w)
	case action == "showserverlist":
		s.writeRaw(w, http.StatusOK, serverListFragment(), true)
	case action == "showerrorlog":
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(http.StatusOK)
	case statusActions[action]:
		s.statusPage(w, r, user, mode)
	default:
		// COM mode: an unknown action is passed to the FoxPro server.
		s.normal(w, r, user)
	}
}

func (s *Server) serveISAPI(w *recorder, r *http.Request, rt route, action, user, mode string) {
	if rt.action == "uploadexe" {
		// wwMaint~FileUpload is a FoxPro request: held like any other,
		// then wwMaint's own login against AdminAccount.
		if s.hold.Load() && !s.isAdmin(user) {
			s.drain(w, r)
			s.writeRaw(w, http.StatusInternalServerError, isapiPage(hdrHold, msgHold), true)
			return
		}
		if !s.isAdmin(user) {
			s.drain(w, r)
			s.writeAdmin401(w, r)
			return
		}
		s.upload(w, r)
		return
	}
	if !strings.HasPrefix(rt.action, "isapi:") {
		s.drain(w, r)
		s.normal(w, r, user)
		return
	}
	s.drain(w, r)
	if !s.isAdmin(user) {
		s.writeAdmin401(w, r)
		return
	}
	switch {
	case action == "updateexe":
		s.swap(w, r)
	case action == "holdrequests" || action == "maintholdrequests":
		s.hold.Store(!s.hold.Load())
		s.isapiStatus(w)
	case isapiStatus[action]:
		s.isapiStatus(w)
	default:
		s.normal(w, r, user)
	}
}

// normal is a non-admin request: the hold page, or the FoxPro app's page.
func (s *Server) normal(w http.ResponseWriter, r *http.Request, user string) {
	if s.hold.Load() && !s.isAdmin(user) {
		if s.cfg.Flavor == ISAPI {
			s.writeRaw(w, http.StatusInternalServerError, isapiPage(hdrHold, msgHold), true)
			return
		}
		s.writePage(w, http.StatusInternalServerError, hdrHold, msgHold)
		return
	}
	if s.cfg.NoFoxProServer {
		s.writePage(w, http.StatusInternalServerError, hdrNoInstance, msgNoInstance)
		return
	}
	if f := s.takeFault("page", FaultHealthFail); f != nil {
		msg := f.Message
		if msg == "" {
			msg = "Unhandled FoxPro error: the health check was told to fail."
		}
		s.writeError(w, msg)
		return
	}
	v, _ := s.exeInfo()
	s.writeRaw(w, http.StatusOK, s.normalPage(r.URL.Path, v), true)
}

// writeError is the generic error page (§3.5).
func (s *Server) writeError(w http.ResponseWriter, msg string) {
	if s.cfg.Flavor == WebServer726 {
		s.writePage(w, http.StatusInternalServerError, hdrError, msg)
		return
	}
	s.writePage(w, http.StatusInternalServerError, hdrError, msgUnknownPrefix+msg)
}

// drain reads what is left of the request body before the reply, as IIS
// does, so a body sent into a 401 is counted and the connection stays usable.
func (s *Server) drain(w http.ResponseWriter, r *http.Request) {
	n, _ := io.CopyN(io.Discard, r.Body, s.cfg.MaxRequestBytes+1)
	if n > s.cfg.MaxRequestBytes {
		w.Header().Set("Connection", "close")
	}
}

// preFault applies a fault that replaces the reply. It returns true when
// the request should then be handled normally (a delay).
func (s *Server) preFault(w *recorder, r *http.Request, f *Fault) bool {
	switch f.Kind {
	case FaultDelay:
		return s.sleep(r.Context(), f.Delay)
	case FaultStall:
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-s.closing:
		}
		s.abort(w)
		return false
	case FaultResetAfter:
		_, _ = io.CopyN(io.Discard, r.Body, f.Bytes)
		s.abort(w)
		return false
	case FaultLoginPage:
		s.drain(w, r)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Length", itoa(len(loginPage)))
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, loginPage)
	case FaultRedirectLoop:
		s.drain(w, r)
		w.Header().Set("Location", r.URL.RequestURI())
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(http.StatusFound)
	case FaultRespond:
		s.drain(w, r)
		s.respond(w, f)
	}
	return false
}

func (s *Server) respond(w *recorder, f *Fault) {
	status := f.Status
	if status == 0 {
		status = http.StatusInternalServerError
	}
	for k, vs := range f.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "text/html")
	}
	var body io.Reader = strings.NewReader(string(f.Body))
	size := int64(len(f.Body))
	if f.BodySize > 0 {
		body, size = io.LimitReader(filler{}, f.BodySize), f.BodySize
	}
	if f.Truncate {
		// Announce twice the bytes, send half, drop the connection.
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		w.hijacked, w.status = true, status
		defer conn.Close()
		fmt.Fprintf(buf, "HTTP/1.1 %d %s\r\n", status, http.StatusText(status))
		w.Header().Set("Content-Length", strconv.FormatInt(size*2+1, 10))
		_ = w.Header().Write(buf)
		buf.WriteString("\r\n")
		_, _ = io.CopyN(buf, body, size/2)
		_ = buf.Flush()
		return
	}
	w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
	w.WriteHeader(status)
	_, _ = io.Copy(w, body)
}

// abort drops the connection with a TCP reset, without a reply.
func (s *Server) abort(w *recorder) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	w.hijacked = true
	resetConn(conn)
}

func resetConn(c net.Conn) {
	type netConner interface{ NetConn() net.Conn }
	if nc, ok := c.(netConner); ok {
		resetConn(nc.NetConn())
		return
	}
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}

type filler struct{}

func (filler) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = "<p>filler</p>\n"[i%14]
	}
	return len(p), nil
}

// recorder remembers the status for the request log.
type recorder struct {
	http.ResponseWriter
	status   int
	hijacked bool
}

func (w *recorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Hijack is explicit so that ResponseController finds it through Unwrap
// and the log knows the reply was not a normal one.
func (w *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

// countingBody counts request body bytes for the request and the server.
type countingBody struct {
	rc io.ReadCloser
	s  *Server
	n  atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if n > 0 {
		b.n.Add(int64(n))
		b.s.bodyBytes.Add(int64(n))
	}
	return n, err
}

func (b *countingBody) Close() error { return b.rc.Close() }

func itoa(n int) string { return strconv.Itoa(n) }
