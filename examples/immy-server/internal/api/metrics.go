package api

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/immyoss/engine/examples/immy-server/internal/core"
	"github.com/immyoss/engine/session"
)

// Metrics are the server's Prometheus metrics, on a registry of its own.
type Metrics struct {
	reg        *prometheus.Registry
	requests   *prometheus.CounterVec
	latency    *prometheus.HistogramVec
	started    prometheus.Counter
	sse        prometheus.Gauge
	ended      *prometheus.CounterVec
	actions    *prometheus.CounterVec
	duration   prometheus.Histogram
	planDur    prometheus.Histogram
	appendDur  prometheus.Histogram
	agents     prometheus.GaugeFunc
	running    prometheus.GaugeFunc
	queued     prometheus.GaugeFunc
	plugHealth *prometheus.GaugeVec
	plugRest   *prometheus.GaugeVec
	c          *core.Core
	plugins    Plugins
}

// NewMetrics makes the metrics; Attach binds the ones read from the core.
func NewMetrics() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "immy_http_requests_total", Help: "API requests by route and status code."}, []string{"route", "code"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "immy_http_request_duration_seconds", Help: "API request latency by route.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16)}, []string{"route"})
	m.started = prometheus.NewCounter(prometheus.CounterOpts{Name: "immy_sessions_started_total", Help: "Sessions started through the API."})
	m.sse = prometheus.NewGauge(prometheus.GaugeOpts{Name: "immy_sse_streams", Help: "Open Server-Sent Events streams."})
	m.ended = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "immy_sessions_ended_total", Help: "Sessions ended in this process, by status."}, []string{"status"})
	m.actions = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "immy_actions_total", Help: "Actions ended in this process's sessions, by result."}, []string{"result"})
	m.duration = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "immy_session_duration_seconds", Help: "Session durations, created to ended.", Buckets: prometheus.ExponentialBuckets(0.05, 2, 16)})
	m.planDur = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "immy_plan_duration_seconds", Help: "Time to plan one computer (API plans).", Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16)})
	m.appendDur = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "immy_journal_append_seconds", Help: "Journal append latency.", Buckets: prometheus.ExponentialBuckets(0.00005, 2, 18)})
	m.plugHealth = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "immy_plugin_healthy", Help: "1 when a plugin instance answered its last health check."}, []string{"plugin"})
	m.plugRest = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "immy_plugin_restarts", Help: "Restarts of a plugin instance after crashes."}, []string{"plugin"})
	m.reg.MustRegister(m.requests, m.latency, m.started, m.sse, m.ended, m.actions, m.duration, m.planDur, m.appendDur,
		m.plugHealth, m.plugRest, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Attach binds the gauges read from the core and the plugins.
func (m *Metrics) Attach(c *core.Core, p Plugins) {
	m.c, m.plugins = c, p
	m.agents = prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "immy_agents_connected", Help: "Agents connected to this process."}, func() float64 {
		n := 0
		for _, s := range c.Agents.Agents() {
			if s.Online {
				n++
			}
		}
		return float64(n)
	})
	m.running = prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "immy_sessions_running", Help: "Sessions this process is working."}, func() float64 {
		r, _ := counts(c)
		return float64(r)
	})
	m.queued = prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "immy_sessions_queued", Help: "Sessions waiting in this process's engines."}, func() float64 {
		_, q := counts(c)
		return float64(q)
	})
	m.reg.MustRegister(m.agents, m.running, m.queued)
	c.OnSessionEnd = m.sessionEnded
	c.Journal.OnAppend = func(d time.Duration) { m.appendDur.Observe(d.Seconds()) }
}

func counts(c *core.Core) (running, queued int) {
	c.Engines(func(e *session.Engine) bool {
		r, q := e.Counts()
		running, queued = running+r, queued+q
		return true
	})
	return running, queued
}

// sessionEnded counts an ended session, its actions and its duration.
func (m *Metrics) sessionEnded(id string) {
	if m.c == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var recs []session.Record
	if err := m.c.Journal.ReplaySession(ctx, id, func(r session.Record) error { recs = append(recs, r); return nil }); err != nil {
		return
	}
	rep := session.Fold(recs)
	m.ended.WithLabelValues(rep.Status.String()).Inc()
	for _, a := range rep.Actions {
		m.actions.WithLabelValues(a.Result.String()).Inc()
	}
	if !rep.Ended.IsZero() && !rep.Created.IsZero() {
		m.duration.Observe(rep.Ended.Sub(rep.Created).Seconds())
	}
}

func (m *Metrics) request(route string, code int, d time.Duration) {
	m.requests.WithLabelValues(route, strconv.Itoa(code)).Inc()
	m.latency.WithLabelValues(route).Observe(d.Seconds())
}

func (m *Metrics) sessionStarted()         { m.started.Inc() }
func (m *Metrics) sseOpen(d float64)       { m.sse.Add(d) }
func (m *Metrics) planned(d time.Duration) { m.planDur.Observe(d.Seconds()) }

// Handler serves /metrics.
func (m *Metrics) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if m.plugins != nil {
			for _, p := range m.plugins.Instances(r.Context()) {
				v := 0.0
				if p.Healthy {
					v = 1
				}
				m.plugHealth.WithLabelValues(p.ID).Set(v)
				m.plugRest.WithLabelValues(p.ID).Set(float64(p.Restarts))
			}
		}
		promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}).ServeHTTP(w, r)
	})
}
