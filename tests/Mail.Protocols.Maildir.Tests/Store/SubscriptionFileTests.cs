namespace Mail.Protocols.Maildir.Tests.Store;

/// <summary>The "subscriptions" file as Dovecot writes it, and as older or other programs may have left it.</summary>
public sealed class SubscriptionFileTests : IDisposable
{
    private readonly StoreFixture _f = new();
    private static readonly string User = StoreFixture.User;

    public void Dispose() => _f.Dispose();

    private string FilePath => Path.Combine(_f.Inbox, "subscriptions");

    // Another program's file, written (UTF-8, no BOM) once the user's Maildir exists.
    private async Task WriteFileAsync(string text)
    {
        await _f.Store.ListFoldersAsync(User);
        await File.WriteAllTextAsync(FilePath, text);
    }

    [Fact]
    public async Task A_new_file_is_dovecot_format_2_with_tabs_between_levels_in_modified_utf7_and_escapes()
    {
        await _f.Store.AddSubscriptionAsync(User, "Projekte/Größe Q3");
        await _f.Store.AddSubscriptionAsync(User, "inbox");
        await _f.Store.AddSubscriptionAsync(User, "a&b");
        Assert.Equal("V\t2\n\nProjekte\tGr&APYA3w-e Q3\nINBOX\na&-b\n", await File.ReadAllTextAsync(FilePath));
        Assert.Equal(["INBOX", "Projekte/Größe Q3", "a&b"], await _f.Store.ListSubscriptionsAsync(User));
        Assert.False(File.Exists(FilePath + ".lock"));
    }

    [Fact]
    public async Task Lines_it_cannot_read_are_kept_as_they_are()
    {
        // "\u0001t" is Dovecot's escape of a TAB inside a level: a control character no folder name of this store has.
        await WriteFileAsync("V\t2\n\nTabbed\u0001tName\nLists\tRust\n\tbroken\n");
        Assert.Equal(["Lists/Rust"], await _f.Store.ListSubscriptionsAsync(User));
        await _f.Store.RemoveSubscriptionAsync(User, "Lists/Rust");
        await _f.Store.AddSubscriptionAsync(User, "Archive");
        Assert.Equal("V\t2\n\nTabbed\u0001tName\n\tbroken\nArchive\n", await File.ReadAllTextAsync(FilePath));
    }

    [Fact]
    public async Task A_version_1_file_is_read_with_dots_between_levels_and_stays_version_1()
    {
        await WriteFileAsync("Lists.Rust\nINBOX\n");
        Assert.Equal(["INBOX", "Lists/Rust"], await _f.Store.ListSubscriptionsAsync(User));
        await _f.Store.AddSubscriptionAsync(User, "Archive/2026");
        Assert.Equal("Lists.Rust\nINBOX\nArchive.2026\n", await File.ReadAllTextAsync(FilePath));
    }
}
