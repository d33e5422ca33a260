using Mail.Protocols.Hosting.Configuration;
using Mail.Protocols.Policy;
using Mail.Protocols.Smtp;
using Mail.Protocols.Smtp.Delivery;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Mail.Protocols.Hosting.Tests;

/// <summary>Settings from configuration: what they become, and every mistake failing at start with the setting's path.</summary>
public sealed class ConfigurationTests
{
    public static TheoryData<string, string?, string> BadSettings => new()
    {
        // A value a setter refuses: the binder alone would not say which setting.
        { "Mail:Smtp:MaxRecipients", "0", "Mail:Smtp:MaxRecipients" },
        { "Mail:Imap:Limits:MaxConnections", "-1", "Mail:Imap:Limits:MaxConnections" },
        // A value that is not of the setting's type.
        { "Mail:Pop3:IdleTimeout", "soon", "Mail:Pop3:IdleTimeout" },
        { "Mail:Smtp:Listeners:0:Role", "Relay", "Mail:Smtp:Listeners:0:Role" },
        // A key that names no setting (a typo must not be silently ignored).
        { "Mail:Smtp:MaxMesageSize", "1000", "Mail:Smtp:MaxMesageSize: there is no such setting" },
        // The endpoints.
        { "Mail:Smtp:Listeners:0:Port", "70000", "Mail:Smtp:Listeners:0:Port" },
        { "Mail:Smtp:Listeners:1:Port", null, "Mail:Smtp:Listeners:1:Port" },
        { "Mail:Imap:Listeners:0:Address", "localhost", "Mail:Imap:Listeners:0:Address" },
        // Names, networks, hosts.
        { "Mail:Smtp:ServerName", "not a host name", "Mail:Smtp:ServerName" },
        { "Mail:Delivery:ServerName", "under_score", "Mail:Delivery:ServerName" },
        { "Mail:Delivery:SmartHost", "relay.example:smtp", "Mail:Delivery:SmartHost" },
        { "Mail:Delivery:PollInterval", "00:00:00", "Mail:Delivery:PollInterval" },
        { "Mail:Policy:TrustedNetworks:0", "10.0.0.0/33", "Mail:Policy:TrustedNetworks:0" },
        { "Mail:Policy:LocalDomains:1", "exa mple.test", "Mail:Policy:LocalDomains" },
        // Keys the configuration binder alone would skip without a word.
        { "Mail:Pop3:MaxCommandLineLength", "1000", "Mail:Pop3:MaxCommandLineLength: is fixed" },
        { "Mail:Smtp:Hooks", "MyHooks", "Mail:Smtp:Hooks: cannot be given as text" },
        { "Mail:Smtp:AuthMechanisms", "PLAIN", "Mail:Smtp:AuthMechanisms: is a list" },
        { "Mail:Smtp:ScramUnknownUserKey", "not base64!", "Mail:Smtp:ScramUnknownUserKey: is not base64" },
        { "Mail:Smtp:ScramUnknownUserKey", "c2hvcnQ=", "Mail:Smtp:ScramUnknownUserKey: Must be at least 16 bytes" },
        // What the engines check beyond each setter.
        { "Mail:Imap:IdleTimeout", "00:00:00", "Mail:Imap:IdleTimeout: must be positive." },
        { "Mail:Pop3:AuthMechanisms:0", "GSSAPI", "Mail:Pop3:AuthMechanisms:0: unknown SASL mechanism 'GSSAPI'" },
        { "Mail:Smtp:ShutdownGracePeriod", "-00:00:01", "Mail:Smtp:ShutdownGracePeriod: must not be negative." },
        { "Mail:Delivery:BatchSize", "0", "Mail:Delivery:BatchSize: must be positive." },
        { "Mail:Delivery:Port", "0", "Mail:Delivery:Port: 0 is not a TCP port" },
        // A typo must not open a listener to the network: "0" parses as 0.0.0.0.
        { "Mail:Smtp:Listeners:0:Address", "0", "Mail:Smtp:Listeners:0:Address" },
        { "Mail:Tls:KeyPath", "/etc/ssl/server.key", "Mail:Tls:KeyPath" },
        // The certificate.
        { "Mail:Tls:CertificatePath", "/nonexistent/server.pem", "Mail:Tls: a certificate and SelfSigned both given" },
        { "Mail:Tls:SelfSigned", "false", "Mail:Tls:CertificatePath: no certificate named" },
    };

    [Theory]
    [MemberData(nameof(BadSettings))]
    public async Task Bad_setting_fails_the_start_naming_the_setting(string key, string? value, string named)
    {
        var settings = TestHost.Settings();
        settings[key] = value;
        if (value is null)
        {
            settings.Remove(key);
        }
        using var host = TestHost.Build(settings);
        var failure = await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync(TestHost.Timeout()));
        var messages = TestHost.Messages(failure);
        Assert.Contains(messages, message => message.StartsWith(named, StringComparison.Ordinal));
        Assert.Equal(messages.Distinct(), messages); // each mistake said once
        // Nothing was started: no server listens.
        Assert.Null(host.Services.GetRequiredService<HostedServices.SmtpServerService>().Server);
    }

    [Fact]
    public async Task Server_without_listeners_fails_the_start_naming_the_listeners()
    {
        var settings = TestHost.Settings();
        foreach (var key in settings.Keys.Where(key => key.StartsWith("Mail:Pop3:Listeners", StringComparison.Ordinal)).ToList())
        {
            settings.Remove(key);
        }
        using var host = TestHost.Build(settings);
        var failure = await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync(TestHost.Timeout()));
        Assert.Contains(TestHost.Messages(failure), message => message.StartsWith("Mail:Pop3:Listeners: at least one listener", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Two_listeners_of_one_name_fail_the_start()
    {
        var settings = TestHost.Settings();
        settings["Mail:Pop3:Listeners:0:Name"] = "mailbox";
        settings["Mail:Pop3:Listeners:1:Name"] = "mailbox";
        using var host = TestHost.Build(settings);
        var failure = await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync(TestHost.Timeout()));
        Assert.Contains(TestHost.Messages(failure), message => message.StartsWith("Mail:Pop3:Listeners:1:Name", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Implicit_tls_without_a_certificate_fails_the_start()
    {
        var settings = TestHost.Settings();
        settings.Remove("Mail:Tls:SelfSigned");
        using var host = TestHost.Build(settings);
        var failure = await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync(TestHost.Timeout()));
        Assert.Contains(TestHost.Messages(failure), message => message.StartsWith("Mail:Smtp:Listeners:2:ImplicitTls", StringComparison.Ordinal));
    }

    [Fact]
    public void Settings_are_bound_and_completed_from_the_container()
    {
        var settings = TestHost.Settings();
        settings["Mail:Smtp:MaxMessageSize"] = "1048576";
        settings["Mail:Smtp:Limits:MaxConnectionsPerAddress"] = "7";
        settings["Mail:Smtp:AuthMechanisms:0"] = "SCRAM-SHA-256";
        settings["Mail:Smtp:AuthMechanisms:1"] = "PLAIN";
        settings["Mail:Policy:TrustedNetworks:0"] = "192.0.2.0/24";
        settings["Mail:Delivery:SmartHost"] = "[2001:db8::25]:2525";
        settings["Mail:Delivery:SmartHostCredentials:UserName"] = "relay-user";
        using var host = TestHost.Build(settings);
        var smtp = host.Services.GetRequiredService<IOptions<SmtpServerOptions>>().Value;
        var pop3 = host.Services.GetRequiredService<IOptions<Pop3.Pop3ServerOptions>>().Value;
        Assert.Equal(1048576, smtp.MaxMessageSize);
        Assert.Equal(7, smtp.Limits.MaxConnectionsPerAddress);
        // A list in configuration is the whole list, not an addition to the defaults.
        Assert.Equal(["SCRAM-SHA-256", "PLAIN"], smtp.AuthMechanisms);
        Assert.Equal("mx.example.test", smtp.ServerName);
        // The certificate and the rate limits come from the container, the limits shared by every server.
        Assert.NotNull(smtp.Tls);
        Assert.Same(smtp.Tls, pop3.Tls);
        Assert.NotNull(smtp.RateLimits);
        Assert.Same(smtp.RateLimits, pop3.RateLimits);
        var policy = host.Services.GetRequiredService<IOptions<RecipientPolicyOptions>>().Value;
        Assert.Contains("example.test", policy.LocalDomains);
        Assert.Equal([System.Net.IPNetwork.Parse("192.0.2.0/24")], policy.TrustedNetworks);
        var delivery = host.Services.GetRequiredService<IOptions<DeliveryAgentOptions>>().Value;
        Assert.Equal(new System.Net.DnsEndPoint("2001:db8::25", 2525), delivery.SmartHost);
        Assert.Equal("relay-user", delivery.SmartHostCredentials?.UserName);
        var listeners = host.Services.GetRequiredService<IOptions<SmtpListenersOptions>>().Value.Listeners;
        Assert.Equal([SmtpRole.Mx, SmtpRole.Submission, SmtpRole.Submission], listeners.Select(listener => listener.Role));
    }

    [Fact]
    public async Task A_refused_value_beside_a_list_of_records_is_named_not_the_records()
    {
        var settings = TestHost.Settings();
        settings["Mail:Imap:FoldersAtLogin:0:Name"] = "Sent";
        settings["Mail:Imap:FoldersAtLogin:0:SpecialUse"] = "Sent";
        settings["Mail:Imap:MaxErrors"] = "0";
        using var host = TestHost.Build(settings);
        var failure = await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync(TestHost.Timeout()));
        Assert.Equal(["Mail:Imap:MaxErrors: Must be positive."], TestHost.Messages(failure));
    }

    [Fact]
    public void Json_settings_bind_octets_and_empty_lists()
    {
        var json = """
            { "Mail": { "Imap": { "FoldersAtLogin": [], "ScramUnknownUserKey": "AAECAwQFBgcICQoLDA0ODxAREhM=" },
                        "Smtp": { "AuthMechanisms": [ "SCRAM-SHA-256" ] } } }
            """;
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(TestHost.Settings());
        builder.Configuration.AddJsonStream(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(json)));
        var mail = builder.Configuration.GetSection("Mail");
        builder.Services.AddSmtpServer(mail.GetSection("Smtp")).AddImapServer(mail.GetSection("Imap"));
        using var host = builder.Build();
        var imap = host.Services.GetRequiredService<IOptions<Imap.ImapServerOptions>>().Value;
        // An empty list in configuration is no folders at all, not the standard ones.
        Assert.Empty(imap.FoldersAtLogin);
        Assert.Equal(Enumerable.Range(0, 20).Select(i => (byte)i), imap.ScramUnknownUserKey.ToArray());
        Assert.Equal(["SCRAM-SHA-256"], host.Services.GetRequiredService<IOptions<SmtpServerOptions>>().Value.AuthMechanisms);
    }

    [Fact]
    public void Rate_limits_switched_off_in_code_stay_off()
    {
        using var host = TestHost.Build(TestHost.Settings(), services: services => services.Configure<SmtpServerOptions>(options => options.RateLimits = null));
        Assert.Null(host.Services.GetRequiredService<IOptions<SmtpServerOptions>>().Value.RateLimits);
        Assert.NotNull(host.Services.GetRequiredService<IOptions<Pop3.Pop3ServerOptions>>().Value.RateLimits);
    }

    [Fact]
    public void A_server_added_twice_is_refused()
    {
        var services = new ServiceCollection();
        var section = new ConfigurationBuilder().Build().GetSection("Mail:Smtp");
        services.AddSmtpServer(section);
        var failure = Assert.Throws<InvalidOperationException>(() => services.AddSmtpServer(section));
        Assert.Contains("AddSmtpServer", failure.Message);
    }

    [Theory]
    [InlineData("relay.example", "relay.example", 25)]
    [InlineData("relay.example:587", "relay.example", 587)]
    [InlineData("192.0.2.1:2525", "192.0.2.1", 2525)]
    [InlineData("[2001:db8::1]", "2001:db8::1", 25)]
    public void Smart_host_text_is_parsed(string text, string host, int port)
    {
        Assert.Equal(new System.Net.DnsEndPoint(host, port), DeliverySettings.ParseSmartHost(text));
    }

    [Theory]
    [InlineData("")]
    [InlineData("relay.example:0")]
    [InlineData("relay.example:65536")]
    [InlineData("2001:db8::1:25")]
    [InlineData("[2001:db8::1")]
    [InlineData("relay example:25")]
    [InlineData("relay.example:+25")]
    public void Smart_host_text_that_is_not_host_and_port_is_refused(string text)
    {
        Assert.Null(DeliverySettings.ParseSmartHost(text));
    }
}
