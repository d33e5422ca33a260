using System.Diagnostics;
using System.Reflection;
using System.Text.RegularExpressions;
using MailHostSample;
using MailKit.Net.Pop3;
using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.Configuration;
using MimeKit;

namespace Mail.Protocols.Hosting.Tests;

/// <summary>
/// samples/MailHost, the Generic Host application: run as a process with its flags, its appsettings.json and the
/// environment, served to MailKit, stopped by SIGTERM; its flags turned into settings; its appsettings.json showing
/// every setting.
/// </summary>
public sealed partial class SampleMailHostTests
{
    private static readonly string Program = Path.Combine(AppContext.BaseDirectory, "MailHost.dll");
    private static readonly string AppSettings = Path.Combine(AppContext.BaseDirectory, "appsettings.json");

    // Free ports (0) for SMTP and POP3 through --set, the other listeners off through their flags.
    private static readonly string[] TwoListeners =
    [
        "--set", "Mail:Smtp:Listeners:0:Port=0", "--set", "Mail:Pop3:Listeners:0:Port=0",
        "--submission", "0", "--smtps", "0", "--pop3s", "0", "--imap", "0", "--imaps", "0", "--no-delivery",
    ];

    [Fact]
    public async Task Sample_serves_mail_set_up_by_flags_and_environment_and_stops_on_sigterm()
    {
        var ct = TestHost.Timeout();
        using var run = SampleRun.Start([.. TwoListeners, "--user", "bob@example.test:bob-secret", "--user", "carol@example.test:carol-secret",
            "--alias", "team@example.test:bob@example.test,carol@example.test", "--allow-plaintext-auth"],
            new() { ["Mail__Smtp__MaxMessageSize"] = "100000" });
        var ports = await run.WaitForEndpointsAsync(ct);

        using (var client = new SmtpClient())
        {
            await client.ConnectAsync("127.0.0.1", ports["smtp"], SecureSocketOptions.None, ct);
            // The environment's setting, above appsettings.json.
            Assert.Equal(100000u, client.MaxSize);
            var message = new MimeMessage();
            message.From.Add(MailboxAddress.Parse("writer@example.org"));
            message.To.Add(MailboxAddress.Parse("team@example.test"));
            message.Subject = "to the team";
            message.Body = new TextPart("plain") { Text = "Flags are settings." };
            await client.SendAsync(message, ct);
            await client.DisconnectAsync(true, ct);
        }
        foreach (var (user, password) in new[] { ("bob@example.test", "bob-secret"), ("carol@example.test", "carol-secret") })
        {
            using var client = new Pop3Client();
            await client.ConnectAsync("127.0.0.1", ports["pop3"], SecureSocketOptions.None, ct);
            await client.AuthenticateAsync(user, password, ct);
            Assert.Equal("to the team", (await client.GetMessageAsync(0, ct)).Subject);
            await client.DisconnectAsync(true, ct);
        }
        // --user replaced the accounts of appsettings.json: alice is not a user.
        using (var client = new Pop3Client())
        {
            await client.ConnectAsync("127.0.0.1", ports["pop3"], SecureSocketOptions.None, ct);
            await Assert.ThrowsAsync<MailKit.Security.AuthenticationException>(() => client.AuthenticateAsync("alice@example.test", "alice", ct));
        }

        Assert.Equal(0, await run.TerminateAsync(ct));
        Assert.Contains("delivered: bob@example.test INBOX uid 1", run.Output, StringComparison.Ordinal);
        Assert.Contains("users       2 (bob@example.test, carol@example.test); postmaster bob@example.test", run.Output, StringComparison.Ordinal);
    }

    // One message from writer@example.org to bob over the sample's port 25.
    private static async Task SendToBobAsync(int port, string subject, string text, CancellationToken ct)
    {
        using var client = new SmtpClient();
        await client.ConnectAsync("127.0.0.1", port, SecureSocketOptions.None, ct);
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse("writer@example.org"));
        message.To.Add(MailboxAddress.Parse("bob@example.test"));
        message.Subject = subject;
        message.Body = new TextPart("plain") { Text = text };
        await client.SendAsync(message, ct);
        await client.DisconnectAsync(true, ct);
    }

    [Fact]
    public async Task With_the_console_exporter_the_servers_spans_and_metrics_are_printed()
    {
        var ct = TestHost.Timeout();
        using var run = SampleRun.Start([.. TwoListeners, "--user", "bob@example.test:bob-secret", "--set", "MailHost:OpenTelemetry=console"], []);
        var ports = await run.WaitForEndpointsAsync(ct);
        await SendToBobAsync(ports["smtp"], "exported", "Seen by the exporter.", ct);
        Assert.Equal(0, await run.TerminateAsync(ct)); // stopping flushes the exporters

        Assert.Contains("Activity.DisplayName:        smtp.message", run.Output, StringComparison.Ordinal);
        Assert.Contains("Activity.DisplayName:        mail.store.append", run.Output, StringComparison.Ordinal);
        Assert.Contains("mail.smtp.messages.received", run.Output, StringComparison.Ordinal);
        Assert.Contains("mail.connections.opened", run.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_redact_personal_data_no_login_or_client_address_reaches_the_log()
    {
        var ct = TestHost.Timeout();
        using var run = SampleRun.Start([.. TwoListeners, "--user", "bob@example.test:bob-secret", "--allow-plaintext-auth", "--redact-personal-data",
            "--set", "Logging:LogLevel:Mail.Protocols.Connections=Debug"], []);
        var ports = await run.WaitForEndpointsAsync(ct);
        await SendToBobAsync(ports["smtp"], "private", "Who reads the log?", ct);
        using (var client = new Pop3Client())
        {
            await client.ConnectAsync("127.0.0.1", ports["pop3"], SecureSocketOptions.None, ct);
            await client.AuthenticateAsync("bob@example.test", "bob-secret", ct);
            await client.DisconnectAsync(true, ct);
        }
        Assert.Equal(0, await run.TerminateAsync(ct));

        var lines = run.Output.Split('\n');
        Assert.Contains(lines, l => Regex.IsMatch(l, "redacted:[0-9a-f]{16} logged in with"));            // POP3's login event
        Assert.Contains(lines, l => Regex.IsMatch(l, "Connection \\S+ from redacted:[0-9a-f]{16} on"));  // the connection event, at Debug
        Assert.Contains(lines, l => Regex.IsMatch(l, "^delivered: redacted:[0-9a-f]{16} INBOX"));
        Assert.DoesNotContain(lines, l => l.Contains("logged in", StringComparison.Ordinal) && l.Contains("bob@", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.Contains("Connection ", StringComparison.Ordinal) && l.Contains("127.0.0.1", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.StartsWith("delivered:", StringComparison.Ordinal) && l.Contains("bob@", StringComparison.Ordinal));
        Assert.DoesNotContain("Who reads the log?", run.Output, StringComparison.Ordinal);
        Assert.Contains(lines, l => Regex.IsMatch(l, @"users\s+1 \(redacted:[0-9a-f]{16}\)")); // the banner's list of users
        Assert.DoesNotContain("bob@example.test", run.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--set", "Mail:Smtp:MaxMesageSize=5", "error: Mail:Smtp:MaxMesageSize: there is no such setting")]
    [InlineData("--set", "Mail:Policy:LocalDomains:0=exa mple.test", "error: Mail:Policy:LocalDomains: 'exa mple.test' is not a domain")]
    [InlineData("--user", "alice", "error: --user: expected ADDRESS:PASSWORD, got 'alice'")]
    [InlineData("--set", "MailHost:OpenTelemetry=jaeger", "error: MailHost:OpenTelemetry: expected none, console or otlp, got 'jaeger'.")]
    [InlineData("--store", "disk:/tmp", "error: --store: expected memory or maildir:PATH")]
    [InlineData("--set", "MailHost:DeliverOutbond=false", "error: ")]
    [InlineData("--set", "MailHost:MessagesPerUserPerHour=-1", "error: MailHost:MessagesPerUserPerHour: must be 0 (no limit) or more.")]
    public async Task Bad_flag_or_setting_stops_the_start_with_one_line_naming_it(string flag, string value, string said)
    {
        var ct = TestHost.Timeout();
        using var run = SampleRun.Start([.. TwoListeners, flag, value], []);
        var exitCode = await run.WaitForExitAsync(ct);
        Assert.NotEqual(0, exitCode);
        Assert.Contains(said, run.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", run.Output, StringComparison.Ordinal); // no stack trace
    }

    [Fact]
    public void Flags_stand_for_settings_and_a_list_they_give_replaces_the_one_below()
    {
        var below = new ConfigurationBuilder().AddJsonFile(AppSettings).Build();
        var flags = new CommandLineFlags();
        var parsed = flags.Command.Parse(["--smtp", "0", "--imaps", "2993", "--bind", "::1", "--user", "bob@example.test:b", "--domain", "example.org",
            "--vrfy", "authenticated", "--store", "maildir:/var/mail", "--no-fsync", "--subaddress-separator", "none", "--lease-seconds", "90", "--quiet"]);
        Assert.Empty(parsed.Errors);
        var (settings, replaced) = flags.ToSettings(parsed, below);
        // A port flag stands for the listener of that name in appsettings.json; 0 switches it off.
        var smtpIndex = Index(below, "Mail:Smtp:Listeners", "smtp");
        Assert.Equal("false", settings[$"Mail:Smtp:Listeners:{smtpIndex}:Enabled"]);
        Assert.Equal("2993", settings[$"Mail:Imap:Listeners:{Index(below, "Mail:Imap:Listeners", "imaps")}:Port"]);
        Assert.All(below.GetSection("Mail:Pop3:Listeners").GetChildren(), listener => Assert.Equal("::1", settings[listener.Path + ":Address"]));
        Assert.Equal("bob@example.test", settings["Mail:Users:Accounts:0:Address"]);
        Assert.False(settings.ContainsKey("Mail:Policy:PostmasterLogin")); // the first user, by the application's default
        Assert.Contains("Mail:Users:Accounts", replaced);
        Assert.Contains("Mail:Policy:LocalDomains", replaced);
        Assert.Equal("authenticated", settings["Mail:Smtp:Vrfy"]);
        Assert.Equal("/var/mail", settings["Mail:Maildir:RootPath"]);
        Assert.Equal("false", settings["Mail:Maildir:Fsync"]);
        Assert.Equal("", settings["Mail:Policy:Addressing:SubaddressSeparator"]);
        Assert.Equal("00:01:30", settings["Mail:Delivery:LeaseDuration"]);
        Assert.Equal("Warning", settings["Logging:LogLevel:Default"]);
    }

    [Fact]
    public void Port_flags_for_listeners_appsettings_json_lacks_make_them_with_the_flags_role_and_tls()
    {
        var below = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Mail:Smtp:Listeners:0:Name"] = "smtp",
            ["Mail:Smtp:Listeners:0:Port"] = "25",
        }).Build();
        var flags = new CommandLineFlags();
        var (settings, _) = flags.ToSettings(flags.Command.Parse(["--submission", "2587", "--smtps", "2465", "--pop3s", "995", "--bind", "192.0.2.1"]), below);
        Assert.Equal("submission", settings["Mail:Smtp:Listeners:1:Name"]);
        Assert.Equal("Submission", settings["Mail:Smtp:Listeners:1:Role"]);
        Assert.Equal("false", settings["Mail:Smtp:Listeners:1:ImplicitTls"]);
        Assert.Equal("smtps", settings["Mail:Smtp:Listeners:2:Name"]);
        Assert.Equal("Submission", settings["Mail:Smtp:Listeners:2:Role"]);
        Assert.Equal("true", settings["Mail:Smtp:Listeners:2:ImplicitTls"]);
        Assert.Equal("true", settings["Mail:Pop3:Listeners:0:ImplicitTls"]);
        // --bind reaches the listeners the flags made as well as those configured.
        Assert.All(new[] { "Mail:Smtp:Listeners:0", "Mail:Smtp:Listeners:1", "Mail:Smtp:Listeners:2", "Mail:Pop3:Listeners:0" },
            listener => Assert.Equal("192.0.2.1", settings[listener + ":Address"]));
    }

    [Fact]
    public void List_given_by_a_flag_replaces_the_one_below_and_empty_lists_below_stay()
    {
        var configuration = new ConfigurationManager();
        configuration.AddJsonStream(new MemoryStream("""
            { "Mail": { "Users": { "Accounts": [ { "Address": "alice@example.test", "Password": "a" }, { "Address": "carol@example.test", "Password": "c" } ] },
                        "Imap": { "FoldersAtLogin": [] } } }
            """u8.ToArray()));
        MailHostApplication.AddOnTop(configuration, new() { ["Mail:Users:Accounts:0:Address"] = "bob@example.test", ["Mail:Users:Accounts:0:Password"] = "b" },
            ["Mail:Users:Accounts"]);
        Assert.Equal(["bob@example.test"], configuration.GetSection("Mail:Users:Accounts").GetChildren().Select(account => account["Address"]));
        // "FoldersAtLogin": [] (no folders) is still said: without it the standard folders would be made.
        Assert.Contains(((IConfiguration)configuration).AsEnumerable(), pair => pair.Key == "Mail:Imap:FoldersAtLogin");
    }

    public static TheoryData<string, Type> SettingsTypes => new()
    {
        { "Smtp", typeof(Smtp.SmtpServerOptions) },
        { "Pop3", typeof(Pop3.Pop3ServerOptions) },
        { "Imap", typeof(Imap.ImapServerOptions) },
        { "Delivery", typeof(Smtp.Delivery.DeliveryAgentOptions) },
        { "Delivery", typeof(Configuration.DeliverySettings) },
        { "Policy", typeof(Policy.RecipientPolicyOptions) },
        { "Tls", typeof(Configuration.TlsSettings) },
        { "Maildir", typeof(Maildir.MaildirStoreOptions) },
        { "QueueDirectory", typeof(Maildir.Queue.FileMessageQueueOptions) },
        { "SenderRewriting", typeof(Addressing.SenderRewritingOptions) },
        { "SenderRewriting", typeof(Configuration.SenderRewritingSecrets) },
        { "Users", typeof(Configuration.UsersSettings) },
        { "AddressBook", typeof(Configuration.AddressBookSettings) },
        { "Smtp:Listeners:0", typeof(Configuration.SmtpListenerSettings) },
    };

    [Theory]
    [MemberData(nameof(SettingsTypes))]
    public void Appsettings_json_shows_every_setting(string section, Type settings)
    {
        // Shown means named in its section, as a value or as a commented-out line (a setting with no default to show).
        var text = File.ReadAllText(AppSettings);
        var start = text.IndexOf($"\"{section.Split(':')[0]}\": {{", StringComparison.Ordinal);
        Assert.True(start >= 0, $"no section {section}");
        var missing = SettingNames(settings).Where(name => text.IndexOf($"\"{name}\"", start, StringComparison.Ordinal) < 0).ToList();
        Assert.Empty(missing);
    }

    [Fact]
    public void Appsettings_json_as_shipped_is_valid()
    {
        using var host = TestHost.Build(Flatten(new ConfigurationBuilder().AddJsonFile(AppSettings).Build()), delivery: true);
        // Building the options runs every check a start runs.
        _ = host.Services.GetService(typeof(Microsoft.Extensions.Options.IOptions<Smtp.SmtpServerOptions>));
        var failures = Validate(host.Services);
        Assert.Empty(failures);
    }

    private static List<string> Validate(IServiceProvider services)
    {
        var failures = new List<string>();
        foreach (var type in new[] { typeof(Smtp.SmtpServerOptions), typeof(Pop3.Pop3ServerOptions), typeof(Imap.ImapServerOptions),
            typeof(Smtp.Delivery.DeliveryAgentOptions), typeof(Policy.RecipientPolicyOptions), typeof(Configuration.TlsSettings),
            typeof(Configuration.SmtpListenersOptions), typeof(Configuration.UsersSettings), typeof(Configuration.AddressBookSettings) })
        {
            try
            {
                var options = services.GetService(typeof(Microsoft.Extensions.Options.IOptions<>).MakeGenericType(type))!;
                _ = options.GetType().GetProperty("Value")!.GetValue(options);
            }
            catch (TargetInvocationException failure) when (failure.InnerException is Microsoft.Extensions.Options.OptionsValidationException refused)
            {
                failures.AddRange(refused.Failures);
            }
        }
        return failures;
    }

    // appsettings.json's Mail section as the flat keys TestHost takes (the sample's own section left out).
    private static Dictionary<string, string?> Flatten(IConfiguration configuration) =>
        configuration.AsEnumerable().Where(pair => pair.Key.StartsWith("Mail:", StringComparison.Ordinal) && pair.Value is not null)
            .ToDictionary(pair => pair.Key, pair => pair.Value);

    // The settings configuration can give: public, settable (or a list or group of settings), and not a service.
    private static IEnumerable<string> SettingNames(Type type) =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(property => property.GetIndexParameters().Length == 0)
            .Where(property => property.SetMethod is { IsPublic: true } || (property.PropertyType != typeof(string) && typeof(System.Collections.IEnumerable).IsAssignableFrom(property.PropertyType))
                || property.PropertyType.Namespace?.StartsWith("Mail.Protocols", StringComparison.Ordinal) == true && property.PropertyType.IsClass)
            .Where(property => !IsService(property.PropertyType))
            .Select(property => property.Name);

    private static bool IsService(Type type) =>
        type == typeof(TimeProvider) || typeof(Delegate).IsAssignableFrom(type) || type.IsInterface && !typeof(System.Collections.IEnumerable).IsAssignableFrom(type)
        || type == typeof(Connections.MailTlsOptions) || type == typeof(RateLimits.SessionRateLimits) || type == typeof(Smtp.SmtpHooks) || type == typeof(Sasl.SaslMechanismRegistry)
        || type == typeof(System.Net.Security.RemoteCertificateValidationCallback) || type == typeof(byte[]) || type == typeof(IList<byte[]>)
        || type == typeof(ReadOnlyMemory<byte>) || type == typeof(System.Net.DnsEndPoint) || type == typeof(System.Net.NetworkCredential);

    private static string Index(IConfiguration configuration, string listeners, string name) =>
        configuration.GetSection(listeners).GetChildren().Single(listener => listener["Name"] == name).Key;

    /// <summary>samples/MailHost as a child process, its output collected.</summary>
    private sealed partial class SampleRun : IDisposable
    {
        private readonly Process _process;
        private readonly System.Text.StringBuilder _output = new();
        private readonly TaskCompletionSource _endpointsShown = new(TaskCreationOptions.RunContinuationsAsynchronously);

        private SampleRun(Process process) => _process = process;

        public string Output
        {
            get
            {
                lock (_output)
                {
                    return _output.ToString();
                }
            }
        }

        public static SampleRun Start(string[] arguments, Dictionary<string, string> environment)
        {
            var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            start.ArgumentList.Add(Program);
            foreach (var argument in arguments)
            {
                start.ArgumentList.Add(argument);
            }
            foreach (var (name, value) in environment)
            {
                start.Environment[name] = value;
            }
            var process = Process.Start(start) ?? throw new InvalidOperationException("MailHost did not start.");
            var run = new SampleRun(process);
            process.OutputDataReceived += (_, e) => run.Append(e.Data);
            process.ErrorDataReceived += (_, e) => run.Append(e.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            return run;
        }

        private void Append(string? line)
        {
            if (line is null)
            {
                return;
            }
            lock (_output)
            {
                _output.AppendLine(line);
            }
            if (line.StartsWith("Press Ctrl+C", StringComparison.Ordinal))
            {
                _endpointsShown.TrySetResult();
            }
        }

        // The banner's "  smtp        127.0.0.1:PORT" lines.
        public async Task<Dictionary<string, int>> WaitForEndpointsAsync(CancellationToken ct)
        {
            await Task.WhenAny(_endpointsShown.Task, _process.WaitForExitAsync(ct)).ConfigureAwait(false);
            Assert.True(_endpointsShown.Task.IsCompleted, $"MailHost did not start:\n{Output}");
            return EndpointLine().Matches(Output).ToDictionary(match => match.Groups[1].Value, match => int.Parse(match.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture));
        }

        public async Task<int> TerminateAsync(CancellationToken ct)
        {
            // SIGTERM, as a service manager stops it.
            using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync(ct).ConfigureAwait(false);
                Assert.Equal(0, kill.ExitCode);
            }
            return await WaitForExitAsync(ct).ConfigureAwait(false);
        }

        // SIGKILL: the process ends where it is, with nothing flushed or released by it.
        public async Task KillAsync(CancellationToken ct)
        {
            _process.Kill();
            await WaitForExitAsync(ct).ConfigureAwait(false);
        }

        public async Task<int> WaitForExitAsync(CancellationToken ct)
        {
            await _process.WaitForExitAsync(ct).ConfigureAwait(false);
            _process.WaitForExit(); // the output read to its end
            return _process.ExitCode;
        }

        public void Dispose()
        {
            if (!_process.HasExited)
            {
                _process.Kill();
            }
            _process.Dispose();
        }

        [GeneratedRegex(@"^  (\w+) +127\.0\.0\.1:(\d+)$", RegexOptions.Multiline)]
        private static partial Regex EndpointLine();
    }
}
