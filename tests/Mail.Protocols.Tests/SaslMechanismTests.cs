using System.Security.Cryptography;
using System.Text;
using Mail.Protocols.InMemory;
using Mail.Protocols.Sasl;

namespace Mail.Protocols.Tests;

public class SaslMechanismTests
{
    private static InMemoryUserDirectory Directory()
    {
        var users = new InMemoryUserDirectory();
        users.AddUser("user", "pencil");
        return users;
    }

    [Fact]
    public async Task Plain_accepts_the_right_password_and_refuses_a_wrong_one()
    {
        var users = Directory();
        var ok = await TestSasl.Create("PLAIN", users, "mx")!.StartAsync("\0user\0pencil"u8.ToArray());
        Assert.Equal(SaslStepKind.Success, ok.Kind);
        Assert.Equal("user", ok.User!.Login);
        var bad = await TestSasl.Create("PLAIN", users, "mx")!.StartAsync("\0user\0pen"u8.ToArray());
        Assert.Equal(SaslStepKind.Failure, bad.Kind);
        Assert.False(bad.IsMalformed);
        var malformed = await TestSasl.Create("PLAIN", users, "mx")!.StartAsync("user pencil"u8.ToArray());
        Assert.True(malformed.IsMalformed);
    }

    [Fact]
    public async Task Plain_refuses_acting_for_another_identity()
    {
        var step = await TestSasl.Create("PLAIN", Directory(), "mx")!.StartAsync("admin\0user\0pencil"u8.ToArray());
        Assert.Equal(SaslStepKind.Failure, step.Kind);
    }

    [Fact]
    public async Task Login_asks_for_user_then_password()
    {
        var login = TestSasl.Create("LOGIN", Directory(), "mx")!;
        var first = await login.StartAsync(null);
        Assert.Equal("Username:", Encoding.ASCII.GetString(first.Data!));
        var second = await login.StepAsync("user"u8.ToArray());
        Assert.Equal("Password:", Encoding.ASCII.GetString(second.Data!));
        Assert.Equal(SaslStepKind.Success, (await login.StepAsync("pencil"u8.ToArray())).Kind);
    }

    [Fact]
    public async Task Cram_md5_verifies_the_hmac_of_its_own_challenge()
    {
        var cram = TestSasl.Create("CRAM-MD5", Directory(), "mx.example.test")!;
        var challenge = (await cram.StartAsync(null)).Data!;
        Assert.Matches(@"^<\d+\.\d+@mx\.example\.test>$", Encoding.ASCII.GetString(challenge));
#pragma warning disable CA5351
        var digest = Convert.ToHexStringLower(HMACMD5.HashData("pencil"u8, challenge));
#pragma warning restore CA5351
        Assert.Equal(SaslStepKind.Success, (await cram.StepAsync(Encoding.ASCII.GetBytes("user " + digest))).Kind);

        var again = TestSasl.Create("CRAM-MD5", Directory(), "mx.example.test")!;
        await again.StartAsync(null);
        Assert.Equal(SaslStepKind.Failure, (await again.StepAsync(Encoding.ASCII.GetBytes("user " + digest))).Kind);
    }

    // RFC 7677 §3 test vector: user "user", password "pencil", client nonce rOprNGfwEbeRWgbNEkqO,
    // salt W22ZaJ0SNY7soEsUEjb6gQ==, 4096 iterations.
    [Fact]
    public async Task Scram_sha_256_matches_the_rfc_7677_exchange()
    {
        var users = new RecordingDirectory();
        var scram = TestSasl.Create("SCRAM-SHA-256", users, "mx")!;
        var serverFirst = await scram.StartAsync("n,,n=user,r=rOprNGfwEbeRWgbNEkqO"u8.ToArray());
        Assert.Equal(SaslStepKind.Challenge, serverFirst.Kind);
        var text = Encoding.ASCII.GetString(serverFirst.Data!);
        Assert.StartsWith("r=rOprNGfwEbeRWgbNEkqO", text);
        Assert.EndsWith(",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", text);
        var nonce = text.Split(',')[0][2..];

        // Compute the client proof the way a client does.
        var salted = Rfc2898DeriveBytes.Pbkdf2("pencil"u8, Convert.FromBase64String("W22ZaJ0SNY7soEsUEjb6gQ=="), 4096, HashAlgorithmName.SHA256, 32);
        var clientKey = HMACSHA256.HashData(salted, "Client Key"u8);
        var withoutProof = $"c=biws,r={nonce}";
        var authMessage = Encoding.ASCII.GetBytes($"n=user,r=rOprNGfwEbeRWgbNEkqO,{text},{withoutProof}");
        var signature = HMACSHA256.HashData(SHA256.HashData(clientKey), authMessage);
        var proof = clientKey.Zip(signature, (a, b) => (byte)(a ^ b)).ToArray();
        var final = await scram.StepAsync(Encoding.ASCII.GetBytes($"{withoutProof},p={Convert.ToBase64String(proof)}"));
        Assert.Equal(SaslStepKind.Success, final.Kind);
        var expectedServerSignature = HMACSHA256.HashData(HMACSHA256.HashData(salted, "Server Key"u8), authMessage);
        Assert.Equal("v=" + Convert.ToBase64String(expectedServerSignature), Encoding.ASCII.GetString(final.Data!));
    }

    [Fact]
    public async Task Scram_with_a_wrong_proof_or_unknown_user_fails_the_same_way()
    {
        var scram = TestSasl.Create("SCRAM-SHA-256", Directory(), "mx")!;
        var first = Encoding.ASCII.GetString((await scram.StartAsync("n,,n=nobody,r=abc"u8.ToArray())).Data!);
        Assert.Contains(",i=4096", first);
        var nonce = first.Split(',')[0][2..];
        var step = await scram.StepAsync(Encoding.ASCII.GetBytes($"c=biws,r={nonce},p={Convert.ToBase64String(new byte[32])}"));
        Assert.Equal(SaslStepKind.Failure, step.Kind);
        Assert.False(step.IsMalformed);
    }

    [Fact]
    public async Task Scram_refuses_channel_binding_requests()
    {
        var step = await TestSasl.Create("SCRAM-SHA-256", Directory(), "mx")!.StartAsync("p=tls-unique,,n=user,r=abc"u8.ToArray());
        Assert.True(step.IsMalformed);
    }

    [Fact]
    public async Task Scram_refuses_a_client_nonce_longer_than_256_characters_instead_of_echoing_it()
    {
        // Found by fuzzing POP3: an 8 KB nonce made a 10 KB challenge line.
        var longest = await TestSasl.Create("SCRAM-SHA-256", Directory(), "mx")!.StartAsync(Encoding.ASCII.GetBytes("n,,n=user,r=" + new string('R', 256)));
        var tooLong = await TestSasl.Create("SCRAM-SHA-256", Directory(), "mx")!.StartAsync(Encoding.ASCII.GetBytes("n,,n=user,r=" + new string('R', 257)));

        Assert.Equal(SaslStepKind.Challenge, longest.Kind);
        Assert.True(tooLong.IsMalformed);
    }

    private sealed class RecordingDirectory : Mail.Protocols.Users.IUserDirectory
    {
        private static readonly Mail.Protocols.Users.MailUser s_user = new("user", ["user@example.test"]);

        public ValueTask<Mail.Protocols.Users.MailUser?> FindByLoginAsync(string login, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(login == "user" ? s_user : null);

        public ValueTask<Mail.Protocols.Users.MailUser?> FindByAddressAsync(string address, CancellationToken cancellationToken = default) => default;

        public ValueTask<bool> VerifyPasswordAsync(Mail.Protocols.Users.MailUser user, string password, CancellationToken cancellationToken = default) => ValueTask.FromResult(password == "pencil");

        public ValueTask<string?> GetSharedSecretAsync(Mail.Protocols.Users.MailUser user, CancellationToken cancellationToken = default) => ValueTask.FromResult<string?>("pencil");

        public bool HasSharedSecrets => true;

        public ValueTask<Mail.Protocols.Users.ScramCredential?> GetScramCredentialAsync(Mail.Protocols.Users.MailUser user, CancellationToken cancellationToken = default)
        {
            var salt = Convert.FromBase64String("W22ZaJ0SNY7soEsUEjb6gQ==");
            var salted = Rfc2898DeriveBytes.Pbkdf2("pencil"u8, salt, 4096, HashAlgorithmName.SHA256, 32);
            var clientKey = HMACSHA256.HashData(salted, "Client Key"u8);
            return ValueTask.FromResult<Mail.Protocols.Users.ScramCredential?>(new(salt, 4096, SHA256.HashData(clientKey), HMACSHA256.HashData(salted, "Server Key"u8)));
        }
    }
}
