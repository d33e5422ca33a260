using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Mail.Protocols.Hosting.HostedServices;
using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Mail.Protocols.Hosting.Tests;

/// <summary>The certificate named by Mail:Tls, loaded from PEM and PKCS#12 files and presented to a real TLS client.</summary>
public sealed class CertificateFileTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("mail-tls-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    public static TheoryData<string> Forms => ["pem with key file", "pem with key inside", "encrypted pem", "pfx"];

    [Theory]
    [MemberData(nameof(Forms))]
    public async Task Certificate_file_is_what_implicit_tls_presents(string form)
    {
        var ct = TestHost.Timeout();
        using var certificate = CreateCertificate();
        var settings = TestHost.Settings();
        settings.Remove("Mail:Tls:SelfSigned");
        foreach (var (key, value) in Write(certificate, form))
        {
            settings[key] = value;
        }
        using var host = TestHost.Build(settings, delivery: false);
        await host.StartAsync(ct);
        var smtp = host.Services.GetRequiredService<SmtpServerService>();

        using var client = new SmtpClient();
        // Only the certificate in the file is accepted.
        client.ServerCertificateValidationCallback = PinnedCertificate.Callback(certificate);
        await client.ConnectAsync("127.0.0.1", smtp.EndPoints["smtps"].Port, SecureSocketOptions.SslOnConnect, ct);
        Assert.True(client.IsSecure);
        await client.DisconnectAsync(true, ct);
        await host.StopAsync(ct);
    }

    [Fact]
    public async Task Pem_file_without_its_key_fails_the_start_naming_the_file()
    {
        using var certificate = CreateCertificate();
        var settings = TestHost.Settings();
        settings.Remove("Mail:Tls:SelfSigned");
        var path = Path.Combine(_directory, "alone.pem");
        await File.WriteAllTextAsync(path, certificate.ExportCertificatePem());
        settings["Mail:Tls:CertificatePath"] = path;
        using var host = TestHost.Build(settings, delivery: false);
        var failure = await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync(TestHost.Timeout()));
        var messages = failure is AggregateException aggregate ? aggregate.InnerExceptions.SelectMany(Failures).ToList() : Failures(failure).ToList();
        Assert.Contains(messages, message => message.StartsWith("Mail:Tls:CertificatePath: ", StringComparison.Ordinal) && message.Contains(path, StringComparison.Ordinal));
    }

    private static IEnumerable<string> Failures(Exception e) => e is OptionsValidationException validation ? validation.Failures : [e.Message];

    private Dictionary<string, string> Write(X509Certificate2 certificate, string form)
    {
        using var key = certificate.GetRSAPrivateKey()!;
        var certificatePath = Path.Combine(_directory, "server.pem");
        switch (form)
        {
            case "pem with key file":
                File.WriteAllText(certificatePath, certificate.ExportCertificatePem());
                File.WriteAllText(Path.Combine(_directory, "server.key"), key.ExportPkcs8PrivateKeyPem());
                return new() { ["Mail:Tls:CertificatePath"] = certificatePath, ["Mail:Tls:KeyPath"] = Path.Combine(_directory, "server.key") };
            case "pem with key inside":
                File.WriteAllText(certificatePath, certificate.ExportCertificatePem() + "\n" + key.ExportPkcs8PrivateKeyPem());
                return new() { ["Mail:Tls:CertificatePath"] = certificatePath };
            case "encrypted pem":
                var encrypted = key.ExportEncryptedPkcs8PrivateKeyPem("secret".AsSpan(),
                    new PbeParameters(PbeEncryptionAlgorithm.Aes256Cbc, HashAlgorithmName.SHA256, 100_000));
                File.WriteAllText(certificatePath, certificate.ExportCertificatePem() + "\n" + encrypted);
                return new() { ["Mail:Tls:CertificatePath"] = certificatePath, ["Mail:Tls:Password"] = "secret" };
            default:
                var pfx = Path.Combine(_directory, "server.pfx");
                File.WriteAllBytes(pfx, certificate.Export(X509ContentType.Pkcs12, "secret"));
                return new() { ["Mail:Tls:CertificatePath"] = pfx, ["Mail:Tls:Password"] = "secret" };
        }
    }

    private static X509Certificate2 CreateCertificate()
    {
        using var rsa = RSA.Create(2048);
        var request = new CertificateRequest("CN=mx.example.test", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("mx.example.test");
        request.CertificateExtensions.Add(names.Build());
        var now = DateTimeOffset.UtcNow;
        return request.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(1));
    }
}
