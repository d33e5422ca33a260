using Mail.Protocols.Pop3;

namespace Mail.Protocols.Smtp.Tests;

/// <summary>The settings SMTP and POP3 share live in MailServerOptions: one set of checks, each protocol's own defaults.</summary>
public class SharedOptionsTests
{
    [Fact]
    public void Each_protocol_keeps_its_own_defaults()
    {
        var smtp = new SmtpServerOptions();
        var pop3 = new Pop3ServerOptions();
        Assert.Equal(TimeSpan.FromMinutes(5), smtp.IdleTimeout);
        Assert.Equal(5, smtp.MaxAuthFailures);
        Assert.Equal(TimeSpan.FromMinutes(10), pop3.IdleTimeout);
        Assert.Equal(10, pop3.MaxAuthFailures);
        foreach (MailServerOptions options in new MailServerOptions[] { smtp, pop3 })
        {
            Assert.Equal(10, options.MaxErrors);
            Assert.Equal(TimeSpan.FromSeconds(2), options.FailedAuthDelay);
            Assert.False(options.AllowPlaintextAuth);
            Assert.Equal(TimeSpan.FromSeconds(10), options.ShutdownGracePeriod);
        }
    }

    [Fact]
    public void The_shared_setters_refuse_the_same_values_for_both()
    {
        foreach (MailServerOptions options in new MailServerOptions[] { new SmtpServerOptions(), new Pop3ServerOptions() })
        {
            Assert.Throws<ArgumentOutOfRangeException>(() => options.MaxErrors = 0);
            Assert.Throws<ArgumentOutOfRangeException>(() => options.MaxAuthFailures = 0);
        }
    }

    [Fact]
    public void Validation_of_the_shared_settings_is_the_same_for_both()
    {
        var smtp = new SmtpServerOptions { ServerName = "mx example" };
        Assert.Equal("ServerName: must be a non-empty ASCII host name.", Assert.Throws<InvalidOperationException>(smtp.Validate).Message);
        smtp = new SmtpServerOptions { ServerName = "mx.example", IdleTimeout = TimeSpan.Zero };
        Assert.Equal("IdleTimeout: must be positive.", Assert.Throws<InvalidOperationException>(smtp.Validate).Message);
        smtp = new SmtpServerOptions { ServerName = "mx.example", DataTimeout = TimeSpan.Zero };
        Assert.Equal("DataTimeout: must be positive.", Assert.Throws<InvalidOperationException>(smtp.Validate).Message);
        smtp = new SmtpServerOptions { ServerName = "mx.example" };
        smtp.AuthMechanisms.Add("GSSAPI");
        Assert.Equal("AuthMechanisms:4: unknown SASL mechanism 'GSSAPI' (registered: SCRAM-SHA-256, CRAM-MD5, PLAIN, LOGIN).", Assert.Throws<InvalidOperationException>(smtp.Validate).Message);
        // The same checks reached through the shared base.
        var pop3 = new Pop3ServerOptions { ServerName = "pop example" };
        Assert.Equal("ServerName: must be a non-empty ASCII host name.", Assert.Throws<InvalidOperationException>(pop3.ValidateShared).Message);
        pop3 = new Pop3ServerOptions { ServerName = "pop.example" };
        pop3.AuthMechanisms.Add("GSSAPI");
        Assert.Equal("AuthMechanisms:4: unknown SASL mechanism 'GSSAPI' (registered: SCRAM-SHA-256, CRAM-MD5, PLAIN, LOGIN).", Assert.Throws<InvalidOperationException>(pop3.ValidateShared).Message);
    }

    [Fact]
    public void Every_problem_is_found_at_once_each_under_its_setting()
    {
        var smtp = new SmtpServerOptions
        {
            ServerName = "mx.example",
            IdleTimeout = TimeSpan.Zero,
            DataTimeout = TimeSpan.FromSeconds(-1),
            FailedAuthDelay = TimeSpan.FromSeconds(-1),
            ShutdownGracePeriod = TimeSpan.FromSeconds(-1),
        };
        smtp.AuthMechanisms.Clear();
        smtp.AuthMechanisms.Add("PLAIN");
        smtp.AuthMechanisms.Add("NTLM");
        Assert.Equal(["IdleTimeout", "FailedAuthDelay", "ShutdownGracePeriod", "AuthMechanisms:1", "DataTimeout"], smtp.FindProblems().Select(p => p.Setting));
        Assert.Empty(new Pop3ServerOptions { ServerName = "pop.example" }.FindProblems());
    }
}
