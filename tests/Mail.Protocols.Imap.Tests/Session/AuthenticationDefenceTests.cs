using Mail.Protocols.Sasl;

namespace Mail.Protocols.Imap.Tests.Session;

/// <summary>
/// The login defences SMTP and POP3 have (issue 9, findings 3 and 4), held for IMAP too: no mechanism before TLS
/// unless plaintext logins are allowed, and a cancelled exchange as dear as a wrong password.
/// </summary>
public sealed class AuthenticationDefenceTests
{
    public static TheoryData<string> Mechanisms() => [.. SaslMechanisms.BuiltIn];

    [Theory]
    [MemberData(nameof(Mechanisms))]
    public async Task Every_mechanism_is_refused_before_tls_when_plaintext_logins_are_not_allowed(string mechanism)
    {
        await using var h = new ImapTestHarness(o => o.AllowPlaintextAuth = false);
        var c = h.Connect();
        Assert.DoesNotContain("AUTH=", await c.ReadLineAsync());
        // CRAM-MD5 and SCRAM send no password, but give an eavesdropper a dictionary attack or the user name.
        Assert.Equal(["a1 NO [PRIVACYREQUIRED] Login needs TLS, use STARTTLS first"], await c.CommandAsync("a1", "AUTHENTICATE " + mechanism));
        Assert.Equal(["a2 NO [PRIVACYREQUIRED] Login needs TLS, use STARTTLS first"], await c.CommandAsync("a2", "AUTHENTICATE " + mechanism + " ="));
        Assert.Equal(["a3 BAD Command not valid before login"], await c.CommandAsync("a3", "SELECT INBOX"));
    }

    [Fact]
    public async Task Cancelling_an_exchange_costs_the_failed_login_delay_and_counts_toward_the_failure_limit()
    {
        await using var h = new ImapTestHarness(o => { o.FailedAuthDelay = TimeSpan.FromSeconds(2); o.MaxAuthFailures = 3; });
        var c = h.Connect();
        await c.ReadLineAsync();
        for (var attempt = 1; attempt <= 3; attempt++)
        {
            // Probe a login's salt, then cancel: it must cost what a wrong password costs.
            var login = attempt == 2 ? ImapTestHarness.Alice : "nobody@example.test";
            await c.SendAsync($"a{attempt} AUTHENTICATE SCRAM-SHA-256 {new ScramClient(login, "x").First}\r\n");
            Assert.StartsWith("+ ", await c.ReadLineAsync());
            var delay = h.Time.NextTimerAsync(TimeSpan.FromSeconds(2));
            await c.SendAsync("*\r\n");
            Assert.Equal($"a{attempt} BAD Authentication cancelled", await h.Time.AssertDelayedAsync(delay, c.ReadLineAsync(), TimeSpan.FromSeconds(2)));
        }
        Assert.Equal("* BYE [AUTHENTICATIONFAILED] Too many failed logins, closing", await c.ReadLineAsync());
        Assert.Null(await c.ReadLineAsync());
    }
}
