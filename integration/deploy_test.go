package integration

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/util/intstr"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// deployDir holds proxyd's deployment files.
var deployDir = filepath.Join("..", "proxyd", "deploy")

// defaultShutdownTimeout is proxyd's --shutdown-timeout when the flag is not given.
const defaultShutdownTimeout = 10 * time.Second

// minReplicas is the fewest replicas that keep proxyd serving while one is replaced or drained.
const minReplicas = 2

// Ports and paths of the admin listener that the Kubernetes probes use.
const (
	adminPortName = "admin"
	httpPortName  = "http"
	readyPath     = "/readyz"
	healthPath    = "/healthz"
)

// manifests are the Kubernetes objects of proxyd/deploy/kubernetes, one of each kind but
// ConfigMaps.
type manifests struct {
	deployment *appsv1.Deployment
	service    *corev1.Service
	pdb        *policyv1.PodDisruptionBudget
	hpa        *autoscalingv2.HorizontalPodAutoscaler
	configMaps map[string]*corev1.ConfigMap
}

// TestKubernetesManifests decodes every manifest strictly into its Kubernetes API type and checks
// what running proxyd depends on: the selectors agree, the probes reach the admin listener, the
// pod drains before it is killed, it runs as the image's non-root user with nothing else allowed,
// and the routes file is mounted where --routes-file names it and passes `proxyd --check`.
func TestKubernetesManifests(t *testing.T) {
	t.Parallel()
	m := decodeManifests(t, filepath.Join(deployDir, "kubernetes"))
	dep := m.deployment
	pod := dep.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("the Deployment's pod has %d containers, want 1 (proxyd)", len(pod.Containers))
	}
	ctr := pod.Containers[0]

	t.Run("selectors", func(t *testing.T) {
		labels := matchLabels(dep.Spec.Selector)
		if len(labels) == 0 || len(dep.Spec.Selector.MatchExpressions) != 0 {
			t.Fatalf("the Deployment's selector is %v, want match labels only", dep.Spec.Selector)
		}
		for _, c := range []struct {
			what string
			got  map[string]string
		}{
			{"the pod template's labels", dep.Spec.Template.Labels},
			{"the Service's selector", m.service.Spec.Selector},
			{"the PodDisruptionBudget's selector", matchLabels(m.pdb.Spec.Selector)},
		} {
			if diff := cmp.Diff(labels, c.got); diff != "" {
				t.Errorf("%s differs from the Deployment's selector (-want +got):\n%s", c.what, diff)
			}
		}
		wantTarget := autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: dep.Name}
		if diff := cmp.Diff(wantTarget, m.hpa.Spec.ScaleTargetRef); diff != "" {
			t.Errorf("the HorizontalPodAutoscaler scales another object (-want +got):\n%s", diff)
		}
	})

	t.Run("replicas", func(t *testing.T) {
		replicas := ptrValue(dep.Spec.Replicas, 1)
		hpaMin := ptrValue(m.hpa.Spec.MinReplicas, 1)
		if replicas < minReplicas || hpaMin != replicas || m.hpa.Spec.MaxReplicas <= hpaMin {
			t.Errorf("replicas %d, autoscaler %d to %d; want at least %d, the autoscaler's minimum equal to them and its maximum above",
				replicas, hpaMin, m.hpa.Spec.MaxReplicas, minReplicas)
		}
		cpu := slices.ContainsFunc(m.hpa.Spec.Metrics, func(ms autoscalingv2.MetricSpec) bool {
			return ms.Type == autoscalingv2.ResourceMetricSourceType && ms.Resource != nil && ms.Resource.Name == corev1.ResourceCPU &&
				ms.Resource.Target.Type == autoscalingv2.UtilizationMetricType && ptrValue(ms.Resource.Target.AverageUtilization, 0) > 0
		})
		if !cpu {
			t.Errorf("the autoscaler's metrics %+v have no CPU utilisation target", m.hpa.Spec.Metrics)
		}
		if ctr.Resources.Requests.Cpu().IsZero() || ctr.Resources.Requests.Memory().IsZero() || ctr.Resources.Limits.Memory().IsZero() {
			t.Errorf("resources %+v: want CPU and memory requests (the autoscaler's utilisation is relative to the CPU request) and a memory limit", ctr.Resources)
		}
		if pdb := m.pdb.Spec; pdb.MaxUnavailable == nil || pdb.MaxUnavailable.IntValue() < 1 || pdb.MinAvailable != nil {
			t.Errorf("PodDisruptionBudget maxUnavailable %v, minAvailable %v; want maxUnavailable of 1 or more, so that drains proceed one replica at a time",
				pdb.MaxUnavailable, pdb.MinAvailable)
		}
	})

	t.Run("ports and probes", func(t *testing.T) {
		ports := make(map[string]int32)
		for _, p := range ctr.Ports {
			ports[p.Name] = p.ContainerPort
		}
		listen := listenAddress(t, ctr.Args)
		admin, ok := flagValue(ctr.Args, "--admin-addr")
		if !ok {
			t.Fatalf("args %q: no --admin-addr for the probes", ctr.Args)
		}
		want := map[string]int32{httpPortName: portOf(t, listen), adminPortName: portOf(t, admin)}
		if diff := cmp.Diff(want, ports); diff != "" {
			t.Errorf("container ports differ from the listen and admin addresses in the args (-want +got):\n%s", diff)
		}
		if got := m.service.Spec.Ports; len(got) != 1 || got[0].TargetPort != intstr.FromString(httpPortName) {
			t.Errorf("Service ports %+v, want one to the container port %q", got, httpPortName)
		}
		probes := map[string]*corev1.Probe{"readiness": ctr.ReadinessProbe, "liveness": ctr.LivenessProbe}
		wantProbes := map[string]*corev1.HTTPGetAction{
			"readiness": {Path: readyPath, Port: intstr.FromString(adminPortName)},
			"liveness":  {Path: healthPath, Port: intstr.FromString(adminPortName)},
		}
		gotProbes := make(map[string]*corev1.HTTPGetAction)
		for name, p := range probes {
			if p != nil {
				gotProbes[name] = p.HTTPGet
			}
		}
		if diff := cmp.Diff(wantProbes, gotProbes); diff != "" {
			t.Errorf("probes differ (-want +got):\n%s", diff)
		}
	})

	t.Run("shutdown", func(t *testing.T) {
		pre := ctr.Lifecycle
		if pre == nil || pre.PreStop == nil || pre.PreStop.Sleep == nil || pre.PreStop.Sleep.Seconds <= 0 || pre.PreStop.Exec != nil {
			t.Fatalf("lifecycle %+v: want a preStop sleep (the image has no shell for an exec hook)", pre)
		}
		sleep := time.Duration(pre.PreStop.Sleep.Seconds) * time.Second
		grace := time.Duration(ptrValue(pod.TerminationGracePeriodSeconds, corev1.DefaultTerminationGracePeriodSeconds)) * time.Second
		if shutdown := shutdownTimeout(t, ctr.Args); grace <= sleep+shutdown {
			t.Errorf("terminationGracePeriodSeconds is %v, want more than the preStop sleep (%v) and --shutdown-timeout (%v) together",
				grace, sleep, shutdown)
		}
	})

	t.Run("security", func(t *testing.T) {
		checkPodSecurity(t, pod.SecurityContext, ctr.SecurityContext)
	})

	t.Run("routes file", func(t *testing.T) {
		checkRoutesMount(t, m, pod, ctr)
	})
}

// decodeManifests decodes every YAML document in dir strictly (unknown or duplicate fields,
// unknown kinds and API versions fail) and checks that there is one of each kind.
func decodeManifests(t *testing.T, dir string) manifests {
	t.Helper()
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		appsv1.AddToScheme, corev1.AddToScheme, policyv1.AddToScheme, autoscalingv2.AddToScheme,
	} {
		if err := add(scheme); err != nil {
			t.Fatal(err)
		}
	}
	decoder := serializer.NewCodecFactory(scheme, serializer.EnableStrict).UniversalDeserializer()
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in %s (%v)", dir, err)
	}
	m := manifests{configMaps: make(map[string]*corev1.ConfigMap)}
	for _, file := range files {
		for i, doc := range yamlDocuments(t, file) {
			obj, gvk, err := decoder.Decode(doc, nil, nil)
			if err != nil {
				t.Errorf("%s, document %d: %v", file, i+1, err)
				continue
			}
			if !m.add(obj) {
				t.Errorf("%s, document %d: a second %s or a kind proxyd's deployment has no use for", file, i+1, gvk)
			}
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	if m.deployment == nil || m.service == nil || m.pdb == nil || m.hpa == nil || len(m.configMaps) == 0 {
		t.Fatalf("%s: want a Deployment, a Service, a PodDisruptionBudget, a HorizontalPodAutoscaler and a ConfigMap", dir)
	}
	return m
}

// add records obj and reports whether it was a kind that m holds and not yet had.
func (m *manifests) add(obj runtime.Object) bool {
	switch o := obj.(type) {
	case *appsv1.Deployment:
		return setOnce(&m.deployment, o)
	case *corev1.Service:
		return setOnce(&m.service, o)
	case *policyv1.PodDisruptionBudget:
		return setOnce(&m.pdb, o)
	case *autoscalingv2.HorizontalPodAutoscaler:
		return setOnce(&m.hpa, o)
	case *corev1.ConfigMap:
		if m.configMaps[o.Name] != nil {
			return false
		}
		m.configMaps[o.Name] = o
		return true
	}
	return false
}

// setOnce sets *p to v unless it is set already, and reports whether it did.
func setOnce[T any](p **T, v *T) bool {
	if *p != nil {
		return false
	}
	*p = v
	return true
}

// yamlDocuments splits the YAML file into its documents.
func yamlDocuments(t *testing.T, file string) [][]byte {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var docs [][]byte
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return docs
		}
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		docs = append(docs, doc)
	}
}

// matchLabels returns the match labels of sel, none when sel is nil.
func matchLabels(sel *metav1.LabelSelector) map[string]string {
	if sel == nil {
		return nil
	}
	return sel.MatchLabels
}

// ptrValue returns *p, or def when p is nil (the API server's default).
func ptrValue[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

// podSecurity is the effective security settings of proxyd's container.
type podSecurity struct {
	RunAsNonRoot             bool
	RunAsUser                int64
	RunAsGroup               int64
	AllowPrivilegeEscalation bool
	ReadOnlyRootFilesystem   bool
	Drop                     []corev1.Capability
	Add                      []corev1.Capability
	Seccomp                  corev1.SeccompProfileType
}

// checkPodSecurity checks the container's effective security settings: the container's own
// where set, else the pod's.
func checkPodSecurity(t *testing.T, pod *corev1.PodSecurityContext, ctr *corev1.SecurityContext) {
	if pod == nil {
		pod = &corev1.PodSecurityContext{}
	}
	if ctr == nil {
		ctr = &corev1.SecurityContext{}
	}
	got := podSecurity{
		RunAsNonRoot:             ptrValue(firstSet(ctr.RunAsNonRoot, pod.RunAsNonRoot), false),
		RunAsUser:                ptrValue(firstSet(ctr.RunAsUser, pod.RunAsUser), 0),
		RunAsGroup:               ptrValue(firstSet(ctr.RunAsGroup, pod.RunAsGroup), 0),
		AllowPrivilegeEscalation: ptrValue(ctr.AllowPrivilegeEscalation, true),
		ReadOnlyRootFilesystem:   ptrValue(ctr.ReadOnlyRootFilesystem, false),
	}
	if caps := ctr.Capabilities; caps != nil {
		got.Drop, got.Add = caps.Drop, caps.Add
	}
	if sp := firstSet(ctr.SeccompProfile, pod.SeccompProfile); sp != nil {
		got.Seccomp = sp.Type
	}
	uid, gid, _ := strings.Cut(proxydUser, ":")
	want := podSecurity{
		RunAsNonRoot:           true,
		RunAsUser:              mustInt64(t, uid),
		RunAsGroup:             mustInt64(t, gid),
		ReadOnlyRootFilesystem: true,
		Drop:                   []corev1.Capability{"ALL"},
		Seccomp:                corev1.SeccompProfileTypeRuntimeDefault,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("security settings differ (-want +got):\n%s", diff)
	}
}

// firstSet returns a unless it is nil, else b.
func firstSet[T any](a, b *T) *T {
	if a != nil {
		return a
	}
	return b
}

// mustInt64 parses s as a decimal int64.
func mustInt64(t *testing.T, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// checkRoutesMount checks that --routes-file names a key of a ConfigMap mounted read-only at its
// directory, and that proxyd accepts the container's command line with that file.
func checkRoutesMount(t *testing.T, m manifests, pod corev1.PodSpec, ctr corev1.Container) {
	file, ok := flagValue(ctr.Args, "--routes-file")
	if !ok {
		t.Fatalf("args %q: no --routes-file", ctr.Args)
	}
	dir, key := path.Split(file)
	mount := slices.IndexFunc(ctr.VolumeMounts, func(vm corev1.VolumeMount) bool {
		return path.Clean(vm.MountPath) == path.Clean(dir) && vm.SubPath == ""
	})
	if mount < 0 || !ctr.VolumeMounts[mount].ReadOnly {
		t.Fatalf("volume mounts %+v: none read-only at %s, the directory of --routes-file (a subPath mount would never see updates)", ctr.VolumeMounts, dir)
	}
	vol := slices.IndexFunc(pod.Volumes, func(v corev1.Volume) bool { return v.Name == ctr.VolumeMounts[mount].Name })
	if vol < 0 || pod.Volumes[vol].ConfigMap == nil {
		t.Fatalf("volume %q is not a ConfigMap volume", ctr.VolumeMounts[mount].Name)
	}
	cm := m.configMaps[pod.Volumes[vol].ConfigMap.Name]
	if cm == nil || cm.Data[key] == "" {
		t.Fatalf("no ConfigMap %q with a key %q among the manifests", pod.Volumes[vol].ConfigMap.Name, key)
	}
	routes := filepath.Join(t.TempDir(), key)
	writeFile(t, routes, cm.Data[key])
	checkProxydAccepts(t, withFlag(ctr.Args, "--routes-file", routes)...)
}

// withFlag returns a copy of args with the value of the flag name (written name=value) replaced.
func withFlag(args []string, name, value string) []string {
	out := slices.Clone(args)
	for i, a := range out {
		if strings.HasPrefix(a, name+"=") {
			out[i] = name + "=" + value
		}
	}
	return out
}

// checkProxydAccepts runs `proxyd --check` with args and fails unless proxyd accepts them.
func checkProxydAccepts(t *testing.T, args ...string) {
	t.Helper()
	if built.proxydErr != nil {
		t.Fatalf("proxyd did not build: %v", built.proxydErr)
	}
	cmd := exec.Command(built.proxyd, append([]string{"--check"}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("%s: %v\n%s", cmd, err, out)
	}
}

// listenAddress returns LISTEN_ADDRESS, the first of the two arguments that are not flags (every
// flag of these files is written --name=value).
func listenAddress(t *testing.T, args []string) string {
	t.Helper()
	var pos []string
	for _, a := range args {
		if !strings.HasPrefix(a, "-") {
			pos = append(pos, a)
		}
	}
	if len(pos) != 2 {
		t.Fatalf("args %q: want LISTEN_ADDRESS and DEFAULT_BACKEND, and every flag as --name=value", args)
	}
	return pos[0]
}

// flagValue returns the value of the flag name (written name=value) in args.
func flagValue(args []string, name string) (string, bool) {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v, true
		}
	}
	return "", false
}

// shutdownTimeout returns the --shutdown-timeout in args, or proxyd's default.
func shutdownTimeout(t *testing.T, args []string) time.Duration {
	t.Helper()
	v, ok := flagValue(args, "--shutdown-timeout")
	if !ok {
		return defaultShutdownTimeout
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		t.Fatalf("--shutdown-timeout=%s: %v", v, err)
	}
	return d
}

// portOf returns the port of the address addr (host:port).
func portOf(t *testing.T, addr string) int32 {
	t.Helper()
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("address %q: %v", addr, err)
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		t.Fatalf("address %q: port: %v", addr, err)
	}
	return int32(n)
}

// unitExampleRoutes is the routes file that the unit's install instructions write.
const unitExampleRoutes = "/api=127.0.0.1:4000\n"

// TestSystemdUnit checks proxyd's systemd unit: the directives that confine it and stop it in
// time, its command line (`proxyd --check`), and the whole unit with systemd's own parser
// (systemd-analyze verify, which must find nothing to say) and its exposure score.
func TestSystemdUnit(t *testing.T) {
	t.Parallel()
	file := filepath.Join(deployDir, "systemd", "proxyd.service")
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	data := string(raw)
	unit := parseUnit(t, file, data)
	svc := unit["Service"]
	want := map[string][]string{
		"Type":                    {"exec"},
		"ExecReload":              {"/bin/kill -HUP $MAINPID"},
		"KillSignal":              {"SIGTERM"},
		"DynamicUser":             {"yes"},
		"NoNewPrivileges":         {"yes"},
		"AmbientCapabilities":     {"CAP_NET_BIND_SERVICE"},
		"CapabilityBoundingSet":   {"CAP_NET_BIND_SERVICE"},
		"ProtectSystem":           {"strict"},
		"ProtectHome":             {"yes"},
		"PrivateTmp":              {"yes"},
		"RestrictAddressFamilies": {"AF_INET AF_INET6 AF_UNIX"},
		"ConfigurationDirectory":  {"proxyd"},
	}
	got := make(map[string][]string)
	for k := range want {
		if v, ok := svc[k]; ok {
			got[k] = v
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s: [Service] differs (-want +got):\n%s", file, diff)
	}
	if len(svc["ExecStart"]) != 1 || len(svc["LimitNOFILE"]) != 1 || len(svc["TimeoutStopSec"]) != 1 {
		t.Fatalf("%s: want one ExecStart, LimitNOFILE and TimeoutStopSec each, have %q, %q, %q",
			file, svc["ExecStart"], svc["LimitNOFILE"], svc["TimeoutStopSec"])
	}
	argv := strings.Fields(svc["ExecStart"][0])
	if argv[0] != "/usr/local/bin/proxyd" {
		t.Errorf("ExecStart runs %s, want /usr/local/bin/proxyd", argv[0])
	}
	args := argv[1:]
	stop, err := time.ParseDuration(svc["TimeoutStopSec"][0])
	if err != nil {
		t.Fatalf("TimeoutStopSec=%s: %v", svc["TimeoutStopSec"][0], err)
	}
	if shutdown := shutdownTimeout(t, args); stop <= shutdown {
		t.Errorf("TimeoutStopSec=%v, want more than --shutdown-timeout (%v)", stop, shutdown)
	}
	if routes, ok := flagValue(args, "--routes-file"); !ok || path.Dir(routes) != "/etc/"+svc["ConfigurationDirectory"][0] {
		t.Errorf("ExecStart %q: want a --routes-file in /etc/%s, the ConfigurationDirectory", args, svc["ConfigurationDirectory"][0])
	}
	routes := filepath.Join(t.TempDir(), "routes")
	writeFile(t, routes, unitExampleRoutes)
	checkProxydAccepts(t, withFlag(args, "--routes-file", routes)...)

	// systemd-analyze verify checks that ExecStart's program exists (checkProxydAccepts checked
	// that it built): verify a copy that runs the proxyd binary of this run, otherwise the same.
	copied := filepath.Join(t.TempDir(), filepath.Base(file))
	writeFile(t, copied, strings.Replace(data, "ExecStart="+argv[0]+" ", "ExecStart="+built.proxyd+" ", 1))
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Fatalf("systemd-analyze (Debian package systemd) checks the unit: %v", err)
	}
	cmd := exec.Command(analyze, "verify", "--man=no", copied)
	if out, err := cmd.CombinedOutput(); err != nil || len(out) != 0 {
		t.Errorf("%s: %v; want no complaint, got:\n%s", cmd, err, out)
	}
	// An exposure of 2.0 or less on systemd's 0-10 scale ("OK"); the unit scores 1.4.
	cmd = exec.Command(analyze, "security", "--offline=yes", "--threshold=20", copied)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("%s: %v\n%s", cmd, err, out)
	}
}

// parseUnit reads the systemd unit data (of file, named in messages) into its sections' keys and
// their values in order. It knows the subset of the syntax proxyd's unit uses: comments, [Section]
// lines and Key=Value lines without continuations.
func parseUnit(t *testing.T, file, data string) map[string]map[string][]string {
	t.Helper()
	unit := make(map[string]map[string][]string)
	var section string
	for n, line := range strings.Split(data, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = line[1 : len(line)-1]
			unit[section] = make(map[string][]string)
		default:
			key, value, ok := strings.Cut(line, "=")
			if !ok || section == "" || strings.HasSuffix(line, `\`) {
				t.Fatalf("%s:%d: %q is not Key=Value in a section", file, n+1, line)
			}
			unit[section][key] = append(unit[section][key], value)
		}
	}
	return unit
}
