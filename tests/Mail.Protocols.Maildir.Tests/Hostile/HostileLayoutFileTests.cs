using System.Text;
using System.Text.Json;
using Mail.Protocols.Maildir.Layout;
using Mail.Protocols.Maildir.Queue;
using Mail.Protocols.Storage;

namespace Mail.Protocols.Maildir.Tests.Hostile;

/// <summary>
/// Files of a Maildir other programs write too, with content no well-behaved one writes (found by the fuzz targets
/// DovecotUidList, KeywordFile, SubscriptionFile, FolderNames and QueueEntry): read as documented, never trusted.
/// </summary>
public sealed class HostileLayoutFileTests : IDisposable
{
    private const UnixFileMode Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public void A_uidlist_whose_next_uid_is_4294967295_is_not_adopted_since_no_uid_could_follow() =>
        Assert.Null(DovecotUidList.Parse(["3 V5 N4294967295", "1 :a"]));

    [Fact]
    public void A_keyword_that_is_no_imap_atom_is_not_named_but_keeps_its_letter()
    {
        File.WriteAllText(_directory.Combine(KeywordFile.FileName), "0 two words\n1 a(b\n2 $Junk\n");
        var file = new KeywordFile(_directory.Path, Mode);

        Assert.Empty(file.KeywordsOf("ab"));
        Assert.Equal(["$Junk"], file.KeywordsOf("abc"));
        Assert.Equal("d", file.LettersOf(["$New"], sync: false));
        Assert.Contains("0 two words\n", File.ReadAllText(_directory.Combine(KeywordFile.FileName)), StringComparison.Ordinal);
    }

    [Fact]
    public void A_subscribed_name_with_a_control_character_is_not_listed()
    {
        File.WriteAllText(_directory.Combine(SubscriptionFile.FileName), "V\t2\n\nA&AAE-B\nArchive\n");

        Assert.Equal(["Archive"], SubscriptionFile.Read(_directory.Path));
    }

    [Theory]
    [InlineData(".INBOX")]
    [InlineData(".inbox")]
    public void A_directory_named_inbox_is_no_second_inbox(string directory) => Assert.Null(FolderNames.FromDirectoryName(directory));

    [Theory]
    [InlineData(".Gr&dPYAjw-e")]      // U+008F, a C1 control character
    [InlineData(".Archiv&AB8-e")]     // U+001F
    [InlineData(".A&AAA-")]           // NUL
    [InlineData(".a&AC4-b")]          // "a.b": a dot inside a level, which Maildir++ cannot hold
    [InlineData(".&AKM-&AKM-")]       // "££" split into two runs: the folder's own directory is ".&AKMAow-"
    [InlineData(".&AGE-")]            // "a" in base64: printable ASCII stands for itself
    public void A_directory_whose_name_no_folder_of_this_store_can_have_is_no_folder(string directory)
    {
        // The store could list it but neither select, rename nor delete it: its name fails ToDirectoryName.
        Assert.Null(FolderNames.FromDirectoryName(directory));
    }

    [Fact]
    public void A_directory_name_longer_than_a_file_name_is_no_folder()
    {
        // Found by fuzzing: ".aaa…" of 256 octets decoded to a folder of 255 characters whose directory cannot exist.
        Assert.Null(FolderNames.FromDirectoryName("." + new string('a', 255)));
        Assert.Equal(new string('a', 254), FolderNames.FromDirectoryName("." + new string('a', 254)));
    }

    [Fact]
    public void A_uidlist_whose_next_uid_is_0_continues_from_1() => Assert.Equal(1u, DovecotUidList.Parse(["3 V5 N0"])!.NextUid);

    [Fact]
    public void A_folder_name_whose_directory_would_not_fit_a_file_name_is_refused()
    {
        var error = Assert.Throws<MailboxStoreException>(() => FolderNames.ToDirectoryName(new string('\u65e5', 200)));
        Assert.Equal(MailboxStoreError.InvalidName, error.Error);
        Assert.Equal(255, FolderNames.ToDirectoryName(new string('a', 254)).Length);
    }

    [Theory]
    [InlineData("""{"Envelope":{"ReversePath":null,"Recipients":[],"ReceivedAt":"2026-01-01T00:00:00+00:00"},"Recipients":[],"Attempts":0,"NextAttempt":"2026-01-01T00:00:00+00:00","LeaseExpires":"2026-01-01T00:00:00+00:00"}""")]
    [InlineData("""{"Envelope":{"ReversePath":"a@b","Recipients":[null],"ReceivedAt":"2026-01-01T00:00:00+00:00"},"Recipients":[],"Attempts":0,"NextAttempt":"2026-01-01T00:00:00+00:00","LeaseExpires":"2026-01-01T00:00:00+00:00"}""")]
    [InlineData("""{"Envelope":{"ReversePath":"a@b","Recipients":[{"Address":null}],"ReceivedAt":"2026-01-01T00:00:00+00:00"},"Recipients":[],"Attempts":0,"NextAttempt":"2026-01-01T00:00:00+00:00","LeaseExpires":"2026-01-01T00:00:00+00:00"}""")]
    [InlineData("""{"Envelope":{"ReversePath":"a@b","Recipients":[],"ReceivedAt":"2026-01-01T00:00:00+00:00"},"Recipients":[null],"Attempts":0,"NextAttempt":"2026-01-01T00:00:00+00:00","LeaseExpires":"2026-01-01T00:00:00+00:00"}""")]
    [InlineData("""{"Envelope":{"ReversePath":"a@b","Recipients":[],"ReceivedAt":"2026-01-01T00:00:00+00:00"},"Recipients":[{"Recipient":null,"State":"Pending"}],"Attempts":0,"NextAttempt":"2026-01-01T00:00:00+00:00","LeaseExpires":"2026-01-01T00:00:00+00:00"}""")]
    [InlineData("""{"Envelope":{"ReversePath":"a@b","Recipients":[{"Address":"c@d","Notify":99}],"ReceivedAt":"2026-01-01T00:00:00+00:00"},"Recipients":[],"Attempts":0,"NextAttempt":"2026-01-01T00:00:00+00:00","LeaseExpires":"2026-01-01T00:00:00+00:00"}""")]
    [InlineData("""{"Envelope":{"ReversePath":"a@b","Recipients":[],"ReceivedAt":"2026-01-01T00:00:00+00:00","Return":7},"Recipients":[],"Attempts":0,"NextAttempt":"2026-01-01T00:00:00+00:00","LeaseExpires":"2026-01-01T00:00:00+00:00"}""")]
    [InlineData("""{"Envelope":{"ReversePath":"a@b","Recipients":[],"ReceivedAt":"2026-01-01T00:00:00+00:00"},"Recipients":[{"Recipient":{"Address":"c@d"},"State":12}],"Attempts":0,"NextAttempt":"2026-01-01T00:00:00+00:00","LeaseExpires":"2026-01-01T00:00:00+00:00"}""")]
    [InlineData("""{"Envelope":{"ReversePath":"a@b","Recipients":[],"ReceivedAt":"2026-01-01T00:00:00+00:00"},"Recipients":[],"Attempts":-1,"NextAttempt":"2026-01-01T00:00:00+00:00","LeaseExpires":"2026-01-01T00:00:00+00:00"}""")]
    public void A_queue_entry_with_a_null_or_an_undefined_value_is_no_entry(string json) =>
        Assert.Throws<JsonException>(() => QueueEntryFile.Deserialize(Encoding.UTF8.GetBytes(json)));
}
