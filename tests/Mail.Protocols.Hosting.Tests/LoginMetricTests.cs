using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using MailKit.Net.Imap;
using MailKit.Net.Pop3;
using MailKit.Net.Smtp;
using MailKit.Security;

namespace Mail.Protocols.Hosting.Tests;

/// <summary><c>mail.auth.attempts</c>: every login, by protocol, method and outcome, on the host's own meters.</summary>
public sealed class LoginMetricTests
{
    [Fact]
    public async Task Logins_are_counted_by_protocol_method_and_outcome()
    {
        using var meters = new OwnMeters();
        var attempts = new ConcurrentQueue<(string Protocol, string Method, string Outcome)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Name == "mail.auth.attempts" && meters.Made.Contains(instrument.Meter))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, _, tags, _) =>
        {
            var all = tags.ToArray();
            string Tag(string name) => (string)all.Single(t => t.Key == name).Value!;
            attempts.Enqueue((Tag("network.protocol.name"), Tag("mail.auth.mechanism"), Tag("mail.auth.outcome")));
        });
        listener.Start();

        var options = new MailHostOptions
        {
            SmtpPort = null, SubmissionPort = 0, SmtpsPort = null, Pop3Port = 0, Pop3sPort = null, ImapPort = 0, ImapsPort = null,
            ServerName = "mx.example.test", AllowPlaintextAuth = true, MeterFactory = meters,
        };
        options.Domains.Add("example.test");
        options.Users.Add(("alice@example.test", "alice"));
        options.Smtp.FailedAuthDelay = options.Pop3.FailedAuthDelay = options.Imap.FailedAuthDelay = TimeSpan.Zero;
        await using var host = new MailHost(options);
        await host.StartAsync();

        using (var smtp = new SmtpClient())
        {
            var endPoint = host.EndPoints["submission"];
            await smtp.ConnectAsync(endPoint.Address.ToString(), endPoint.Port, SecureSocketOptions.None);
            await Assert.ThrowsAsync<AuthenticationException>(() => smtp.AuthenticateAsync(new SaslMechanismPlain("alice@example.test", "wrong")));
            await smtp.AuthenticateAsync(new SaslMechanismPlain("alice@example.test", "alice"));
            await smtp.DisconnectAsync(quit: true);
        }
        using (var pop3 = new Pop3Client())
        {
            var endPoint = host.EndPoints["pop3"];
            await pop3.ConnectAsync(endPoint.Address.ToString(), endPoint.Port, SecureSocketOptions.None);
            pop3.AuthenticationMechanisms.Clear(); // MailKit then logs in with APOP, which the host offers
            await pop3.AuthenticateAsync("alice@example.test", "alice");
            await pop3.DisconnectAsync(quit: true);
        }
        using (var imap = new ImapClient())
        {
            var endPoint = host.EndPoints["imap"];
            await imap.ConnectAsync(endPoint.Address.ToString(), endPoint.Port, SecureSocketOptions.None);
            imap.AuthenticationMechanisms.Clear(); // MailKit then uses LOGIN
            await Assert.ThrowsAsync<AuthenticationException>(() => imap.AuthenticateAsync("alice@example.test", "wrong"));
            await imap.AuthenticateAsync("alice@example.test", "alice");
            await imap.DisconnectAsync(quit: true);
        }
        await host.StopAsync();

        Assert.Equal(
            [("smtp", "PLAIN", "failed"), ("smtp", "PLAIN", "succeeded"), ("pop3", "APOP", "succeeded"), ("imap", "LOGIN", "failed"), ("imap", "LOGIN", "succeeded")],
            attempts.ToArray());
    }
}
