package integration

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/log"
)

// imageRepo names the backend image; each run tags it with a random tag.
const imageRepo = "proxyd-integration-backend"

// dockerfile builds the backend image from the static backend binary alone.
const dockerfile = "FROM scratch\nCOPY backend /backend\nENTRYPOINT [\"/backend\"]\n"

// removeTimeout bounds removing the backend image at the end of a run (30 s).
const removeTimeout = 30 * time.Second

// artifacts are the proxyd binary and the backend image, built once per run.
type artifacts struct {
	// image is the backend image's name, repository:tag.
	image string
	// proxyd is the path of the proxyd binary; empty when it did not build.
	proxyd string
	// proxydErr says why proxyd did not build. Tests that need proxyd fail with it, the others
	// (the harness checks) still run.
	proxydErr error
}

// buildArtifacts builds the proxyd binary and the backend image under dir.
func buildArtifacts(ctx context.Context, dir string) (artifacts, error) {
	image, err := buildBackendImage(ctx, filepath.Join(dir, "image"))
	if err != nil {
		return artifacts{}, err
	}
	a := artifacts{image: image, proxyd: filepath.Join(dir, "proxyd")}
	// The proxyd module builds both inside the go.work workspace and on its own (its go.mod
	// replaces its sibling modules). Static, so that the container tests can put the same binary
	// into proxyd's image FROM scratch.
	if err := goBuild(ctx, filepath.Join("..", "proxyd"), a.proxyd, ".", "CGO_ENABLED=0"); err != nil {
		a.proxyd, a.proxydErr = "", err
	}
	return a, nil
}

// buildBackendImage builds ./backend statically into the build context dir and builds the image
// FROM scratch with it; nothing is pulled.
func buildBackendImage(ctx context.Context, dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	if err := goBuild(ctx, ".", filepath.Join(dir, "backend"), "./backend", "CGO_ENABLED=0", "GOOS=linux"); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
		return "", err
	}
	return buildImage(ctx, dir, imageRepo, "")
}

// buildImage builds the Dockerfile in the build context dir up to the stage target (the last
// stage when empty) and tags the image repo with a random tag, which it returns.
func buildImage(ctx context.Context, dir, repo, target string) (string, error) {
	provider, err := dockerProvider()
	if err != nil {
		return "", err
	}
	defer provider.Close()
	var buildLog bytes.Buffer
	image, err := provider.BuildImage(ctx, &testcontainers.ContainerRequest{
		FromDockerfile: testcontainers.FromDockerfile{
			Context:        dir,
			Repo:           repo,
			Tag:            randomTag(),
			BuildLogWriter: &buildLog,
			BuildOptionsModifier: func(o *client.ImageBuildOptions) {
				o.Target = target
			},
		},
	})
	if err != nil {
		return "", fmt.Errorf("building image %s from %s: %w\n%s", repo, dir, err, &buildLog)
	}
	return image, nil
}

// dockerProvider connects to the Docker engine; the caller closes the provider.
func dockerProvider() (*testcontainers.DockerProvider, error) {
	provider, err := testcontainers.NewDockerProvider(testcontainers.WithLogger(log.NewNoopLogger()))
	if err != nil {
		return nil, fmt.Errorf("docker (run scripts/docker-setup.sh): %w", err)
	}
	return provider, nil
}

// goBuild runs `go build -o out pkg` in dir with the extra environment env.
func goBuild(ctx context.Context, dir, out, pkg string, env ...string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", out, pkg)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	if output, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build -o %s %s in %s: %w\n%s", out, pkg, dir, err, output)
	}
	return nil
}

// randomTag returns a tag no other run uses.
func randomTag() string {
	b := make([]byte, 6)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// remove deletes the backend image; the proxyd binary goes with TestMain's temporary directory.
func (a artifacts) remove() {
	ctx, cancel := context.WithTimeout(context.Background(), removeTimeout)
	defer cancel()
	if err := removeImage(ctx, a.image); err != nil {
		fmt.Fprintf(os.Stderr, "integration: %v\n", err)
	}
}

// removeImage deletes image, also when a container still uses it.
func removeImage(ctx context.Context, image string) error {
	provider, err := dockerProvider()
	if err != nil {
		return fmt.Errorf("removing image %s: %w", image, err)
	}
	defer provider.Close()
	_, err = provider.Client().ImageRemove(ctx, image, client.ImageRemoveOptions{Force: true, PruneChildren: true})
	if err != nil {
		return fmt.Errorf("removing image %s: %w", image, err)
	}
	return nil
}
