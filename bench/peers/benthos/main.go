// The Benthos peer of `npm run bench` (scenario 7): the MIT-licensed core of Redpanda Connect with its pure and io
// components, built from the Go module proxy by ../benthos.sh into the services cache.
package main

import (
	"context"

	_ "github.com/redpanda-data/benthos/v4/public/components/io"
	_ "github.com/redpanda-data/benthos/v4/public/components/pure"
	"github.com/redpanda-data/benthos/v4/public/service"
)

func main() {
	service.RunCLI(context.Background())
}
