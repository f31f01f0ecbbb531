package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/wcdeploy/wcdeploy/internal/credentials"
	"github.com/wcdeploy/wcdeploy/internal/doctor"
	"github.com/wcdeploy/wcdeploy/internal/output"
	"github.com/wcdeploy/wcdeploy/pkg/config"
)

// doctorParallel is the least number of servers doctor checks at once.
const doctorParallel = 4

func newDoctorCmd(a *app) *cobra.Command {
	var cred credentials.Request
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check each server of the profile for what a deploy needs, changing nothing",
		Long: `doctor checks, without changing anything: the local EXE, read as deploy reads
it (a file deploy refuses fails here too); then for every server of the profile
name resolution and the TCP connection, the TLS certificate chain and its expiry,
the authentication schemes the server offers (the challenge of an anonymous
request for the status page), the login, the Kerberos identity when the profile
uses Kerberos there (the keytab or ticket cache, its principal and expiry, and
whether the KDC gives a ticket for the server's service principal, HTTP/<host>
or spn:; checked even when the login failed), whether the account passes AdminAccount
(the status page opens), the version running, the ExeFile and UpdateFile paths,
and the server's request size limit, asked exactly as deploy's preflight asks it
(with the settings to raise, for the server's flavor, when it is too low).

It exits with 0 when a deploy would pass every server's preflight, 3 when a
login fails, 2 for a configuration error or an EXE deploy would refuse, and 4
when a server cannot be reached, answers wrongly or refuses the EXE's size.
Warnings (a certificate that expires soon, an EXE above ASP.NET's default
maxRequestLength) do not change the exit code.`,
		Example: `  wcdeploy doctor
  wcdeploy doctor --profile prod --json
  WCDEPLOY_PASSWORD=... wcdeploy doctor --url https://web1.example.com/App/ --user 'CORP\deploy'`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ld, err := a.loadProfile(cmd, false)
			if err != nil {
				return err
			}
			return runDoctor(cmd.Context(), a, ld.Profile, cred)
		},
	}
	// The upload and swap links are part of a server's description (the
	// size check asks the upload link), so a deploy's command line runs here.
	config.AddCommandFlags("doctor", cmd.Flags(), config.SelectFlags, config.ConnectFlags, config.BuildFlags, []string{"upload-url", "update-url"})
	credentials.AddFlags(cmd.Flags(), &cred)
	return cmd
}

// runDoctor runs the checks and renders the report; a failed check's
// message is in the report, so the error only carries the exit code.
func runDoctor(ctx context.Context, a *app, p config.Profile, cred credentials.Request) error {
	warnShared(a, &p)
	rep := doctor.Run(ctx, doctor.Options{
		Profile:   p,
		Client:    a.clientsFor(ctx, p, cred),
		Parallel:  max(p.Rollout.Parallel, doctorParallel),
		Anonymous: doctor.AnonymousClients(&p, a.newClient),
	})
	rep.WarnExeName()
	var err error
	if a.jsonOut {
		err = output.JSON(a.out(), rep)
	} else {
		err = rep.WriteText(a.out(), a.io.TableWidth())
	}
	if err != nil {
		return err
	}
	if rerr := rep.Err(); rerr != nil {
		return reportedError(rerr)
	}
	return nil
}

// exeNameCheck is the name of the check that compares the local EXE's file
// name with the server's ExeFile.
