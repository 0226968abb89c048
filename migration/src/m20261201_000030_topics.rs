//! Guidance topics, their resources (course material and guides), the topics each location
//! offers, and the reference topics: the six areas Digihjelp gives guidance in and the things
//! it does not help with.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Topics {
    Table,
    Slug,
    NameNb,
    NameNn,
    NameEn,
    DescriptionNb,
    DescriptionNn,
    DescriptionEn,
    Category,
    InScope,
    SortOrder,
    SearchText,
    RetiredAt,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum TopicResources {
    Table,
    Id,
    TopicSlug,
    Title,
    Url,
    Publisher,
    Format,
    Description,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum TopicResourceLanguages {
    Table,
    ResourceId,
    Code,
}

#[derive(DeriveIden)]
enum LocationTopics {
    Table,
    LocationId,
    TopicSlug,
}

#[derive(DeriveIden)]
enum Locations {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Topics::Table)
                    .col(string_len(Topics::Slug, 60).primary_key())
                    .col(string_len(Topics::NameNb, 100))
                    .col(string_len_null(Topics::NameNn, 100))
                    .col(string_len_null(Topics::NameEn, 100))
                    .col(string_len(Topics::DescriptionNb, 1000))
                    .col(string_len_null(Topics::DescriptionNn, 1000))
                    .col(string_len_null(Topics::DescriptionEn, 1000))
                    .col(string_len(Topics::Category, 30))
                    .col(boolean(Topics::InScope))
                    .col(integer(Topics::SortOrder))
                    .col(text(Topics::SearchText))
                    .col(timestamp_with_time_zone_null(Topics::RetiredAt))
                    .col(integer(Topics::Version))
                    .col(timestamp_with_time_zone(Topics::CreatedAt))
                    .col(timestamp_with_time_zone(Topics::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_topics_order")
                    .table(Topics::Table)
                    .col(Topics::SortOrder)
                    .col(Topics::Slug)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(TopicResources::Table)
                    .col(uuid(TopicResources::Id).primary_key())
                    .col(string_len(TopicResources::TopicSlug, 60))
                    .col(string_len(TopicResources::Title, 200))
                    .col(string_len(TopicResources::Url, 500))
                    .col(string_len(TopicResources::Publisher, 200))
                    .col(string_len(TopicResources::Format, 20))
                    .col(string_len_null(TopicResources::Description, 1000))
                    .col(integer(TopicResources::Version))
                    .col(timestamp_with_time_zone(TopicResources::CreatedAt))
                    .col(timestamp_with_time_zone(TopicResources::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_topic_resources_topic")
                            .from(TopicResources::Table, TopicResources::TopicSlug)
                            .to(Topics::Table, Topics::Slug),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_topic_resources_topic")
                    .table(TopicResources::Table)
                    .col(TopicResources::TopicSlug)
                    .col(TopicResources::Title)
                    .col(TopicResources::Id)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(TopicResourceLanguages::Table)
                    .col(uuid(TopicResourceLanguages::ResourceId))
                    .col(string_len(TopicResourceLanguages::Code, 2))
                    .primary_key(
                        Index::create()
                            .col(TopicResourceLanguages::ResourceId)
                            .col(TopicResourceLanguages::Code),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_topic_resource_languages_resource")
                            .from(
                                TopicResourceLanguages::Table,
                                TopicResourceLanguages::ResourceId,
                            )
                            .to(TopicResources::Table, TopicResources::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_topic_resource_languages_code")
                    .table(TopicResourceLanguages::Table)
                    .col(TopicResourceLanguages::Code)
                    .col(TopicResourceLanguages::ResourceId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(LocationTopics::Table)
                    .col(uuid(LocationTopics::LocationId))
                    .col(string_len(LocationTopics::TopicSlug, 60))
                    .primary_key(
                        Index::create()
                            .col(LocationTopics::LocationId)
                            .col(LocationTopics::TopicSlug),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_location_topics_location")
                            .from(LocationTopics::Table, LocationTopics::LocationId)
                            .to(Locations::Table, Locations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_location_topics_topic")
                            .from(LocationTopics::Table, LocationTopics::TopicSlug)
                            .to(Topics::Table, Topics::Slug),
                    )
                    .to_owned(),
            )
            .await?;
        // Search by topic and the per-topic location counts start from the topic.
        manager
            .create_index(
                Index::create()
                    .name("idx_location_topics_topic")
                    .table(LocationTopics::Table)
                    .col(LocationTopics::TopicSlug)
                    .col(LocationTopics::LocationId)
                    .to_owned(),
            )
            .await?;

        load_reference_topics(manager).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            LocationTopics::Table.into_iden(),
            TopicResourceLanguages::Table.into_iden(),
            TopicResources::Table.into_iden(),
            Topics::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

/// A reference topic: slug, category, in scope, then name and description in nb, nn and en.
struct ReferenceTopic {
    slug: &'static str,
    category: &'static str,
    in_scope: bool,
    name: [&'static str; 3],
    description: [&'static str; 3],
}

/// The six areas of guidance and the things Digihjelp does not help with, so front-ends can
/// show both from the API alone.
const REFERENCE_TOPICS: [ReferenceTopic; 11] = [
    ReferenceTopic {
        slug: "getting-online",
        category: "getting_online",
        in_scope: true,
        name: [
            "Kom i gang med nettbrett, smarttelefon og PC",
            "Kom i gang med nettbrett, smarttelefon og PC",
            "Getting started with a tablet, smartphone or PC",
        ],
        description: [
            "Hjelp til å komme på nett med nettbrett, smarttelefon eller PC: koble til trådløst nett, bruke e-post, laste ned apper og finne fram på nettet.",
            "Hjelp til å kome på nett med nettbrett, smarttelefon eller PC: kople til trådlaust nett, bruke e-post, laste ned appar og finne fram på nettet.",
            "Help to get online with a tablet, smartphone or PC: connecting to a wireless network, using e-mail, downloading apps and finding your way around the internet.",
        ],
    },
    ReferenceTopic {
        slug: "municipal-services",
        category: "public_services",
        in_scope: true,
        name: [
            "Kommunens digitale tjenester",
            "Dei digitale tenestene til kommunen",
            "The municipality's digital services",
        ],
        description: [
            "Veiledning i å finne fram på kommunens nettsider og bruke kommunens digitale tjenester, som digital postkasse, timebestilling og innsyn i egne saker.",
            "Rettleiing i å finne fram på nettsidene til kommunen og bruke dei digitale tenestene til kommunen, som digital postkasse, timebestilling og innsyn i eigne saker.",
            "Guidance in finding your way around the municipality's website and using its digital services, such as the digital mailbox, booking appointments and following your own cases.",
        ],
    },
    ReferenceTopic {
        slug: "state-services",
        category: "public_services",
        in_scope: true,
        name: [
            "Veien til statlige tjenester som NAV og Skatteetaten",
            "Vegen til statlege tenester som NAV og Skatteetaten",
            "Finding government services such as NAV and the Tax Administration",
        ],
        description: [
            "Vi viser deg hvor du finner statlige tjenester på nett, som nav.no, skatteetaten.no og helsenorge.no, og hvordan du logger inn med ID-porten. Spørsmål om selve saken din må du ta med etaten.",
            "Vi viser deg kvar du finn statlege tenester på nett, som nav.no, skatteetaten.no og helsenorge.no, og korleis du loggar inn med ID-porten. Spørsmål om sjølve saka di må du ta med etaten.",
            "We show you where to find government services online, such as nav.no, skatteetaten.no and helsenorge.no, and how to log in with ID-porten. Questions about your case itself go to the agency.",
        ],
    },
    ReferenceTopic {
        slug: "digital-judgement",
        category: "online_safety",
        in_scope: true,
        name: [
            "Digital dømmekraft",
            "Digital dømekraft",
            "Digital judgement",
        ],
        description: [
            "Nettvett, kildekritikk og trygge valg på nett: hvordan du vurderer om informasjon er til å stole på, og hvordan du oppfører deg i sosiale medier.",
            "Nettvett, kjeldekritikk og trygge val på nett: korleis du vurderer om informasjon er til å stole på, og korleis du oppfører deg i sosiale medium.",
            "Netiquette, source criticism and safe choices online: how to judge whether information can be trusted, and how to behave on social media.",
        ],
    },
    ReferenceTopic {
        slug: "online-security",
        category: "online_safety",
        in_scope: true,
        name: ["Sikkerhet på nett", "Tryggleik på nett", "Online security"],
        description: [
            "Hvordan du beskytter deg mot svindel og skadevare: kjenne igjen falske e-poster og SMS-er (phishing), lage gode passord, oppdatere enheten og bruke antivirus.",
            "Korleis du vernar deg mot svindel og skadevare: kjenne att falske e-postar og SMS-ar (phishing), lage gode passord, oppdatere eininga og bruke antivirus.",
            "How to protect yourself against fraud and malware: recognising fake e-mails and text messages (phishing), choosing good passwords, keeping your device updated and using antivirus software.",
        ],
    },
    ReferenceTopic {
        slug: "privacy-online",
        category: "online_safety",
        in_scope: true,
        name: ["Personvern på nett", "Personvern på nett", "Privacy online"],
        description: [
            "Hvordan du tar vare på personopplysningene dine på nett: personverninnstillinger i apper og sosiale medier, informasjonskapsler (cookies) og hva du bør tenke på før du deler noe.",
            "Korleis du tek vare på personopplysningane dine på nett: personverninnstillingar i appar og sosiale medium, informasjonskapslar (cookies) og kva du bør tenkje på før du deler noko.",
            "How to look after your personal data online: privacy settings in apps and social media, cookies, and what to think about before you share something.",
        ],
    },
    ReferenceTopic {
        slug: "filling-in-applications",
        category: "case_handling",
        in_scope: false,
        name: [
            "Utfylling av søknader og skjemaer",
            "Utfylling av søknader og skjema",
            "Filling in applications and forms",
        ],
        description: [
            "Digihjelpen fyller ikke ut søknader eller skjemaer på vegne av deg. Vi viser deg gjerne hvordan en digital tjeneste fungerer, men spørsmål om selve saken må du ta med kommunen eller etaten som behandler den.",
            "Digihjelpen fyller ikkje ut søknader eller skjema på vegner av deg. Vi viser deg gjerne korleis ei digital teneste fungerer, men spørsmål om sjølve saka må du ta med kommunen eller etaten som behandlar ho.",
            "Digihjelpen does not fill in applications or forms on your behalf. We are glad to show you how a digital service works, but questions about the case itself go to the municipality or agency handling it.",
        ],
    },
    ReferenceTopic {
        slug: "appeals",
        category: "case_handling",
        in_scope: false,
        name: [
            "Klager på vedtak",
            "Klager på vedtak",
            "Appealing decisions",
        ],
        description: [
            "Vi skriver ikke klager på vedtak og gir ikke råd om saken din. Ta kontakt med den som fattet vedtaket; du finner informasjon om klagerett i vedtaksbrevet.",
            "Vi skriv ikkje klager på vedtak og gir ikkje råd om saka di. Ta kontakt med den som fatta vedtaket; du finn informasjon om klagerett i vedtaksbrevet.",
            "We do not write appeals against decisions or give advice on your case. Contact whoever made the decision; the decision letter tells you about your right to appeal.",
        ],
    },
    ReferenceTopic {
        slug: "paying-bills",
        category: "case_handling",
        in_scope: false,
        name: [
            "Betaling av regninger",
            "Betaling av rekningar",
            "Paying bills",
        ],
        description: [
            "Vi betaler ikke regninger og logger ikke inn i nettbanken for deg. Vi kan vise deg hvordan nettbanken fungerer, men du gjør betalingene selv.",
            "Vi betaler ikkje rekningar og loggar ikkje inn i nettbanken for deg. Vi kan vise deg korleis nettbanken fungerer, men du gjer betalingane sjølv.",
            "We do not pay bills or log in to your online bank for you. We can show you how online banking works, but you make the payments yourself.",
        ],
    },
    ReferenceTopic {
        slug: "buying-equipment",
        category: "private_equipment",
        in_scope: false,
        name: [
            "Kjøp av utstyr og bredbånd",
            "Kjøp av utstyr og breiband",
            "Buying equipment and broadband",
        ],
        description: [
            "Vi gir ikke råd om kjøp av PC, nettbrett, mobil eller abonnement på mobil og bredbånd, og vi selger ikke utstyr.",
            "Vi gir ikkje råd om kjøp av PC, nettbrett, mobil eller abonnement på mobil og breiband, og vi sel ikkje utstyr.",
            "We do not give advice on buying a PC, tablet or mobile phone, or on mobile and broadband subscriptions, and we do not sell equipment.",
        ],
    },
    ReferenceTopic {
        slug: "installation-and-repair",
        category: "private_equipment",
        in_scope: false,
        name: [
            "Installasjon og reparasjon av privat utstyr",
            "Installasjon og reparasjon av privat utstyr",
            "Installing and repairing private equipment",
        ],
        description: [
            "Vi installerer ikke bredbånd eller programvare på privat utstyr og reparerer ikke PC-er, nettbrett eller mobiler. Kontakt leverandøren eller en forhandler.",
            "Vi installerer ikkje breiband eller programvare på privat utstyr og reparerer ikkje PC-ar, nettbrett eller mobilar. Kontakt leverandøren eller ein forhandlar.",
            "We do not install broadband or software on private equipment, and we do not repair PCs, tablets or mobile phones. Contact the supplier or a dealer.",
        ],
    },
];

async fn load_reference_topics(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    // A fixed instant keeps the reference rows identical on every database.
    let loaded_at = chrono::DateTime::parse_from_rfc3339("2026-12-01T00:00:00Z")
        .expect("a valid instant")
        .to_utc();
    let mut insert = Query::insert()
        .into_table(Topics::Table)
        .columns([
            Topics::Slug,
            Topics::NameNb,
            Topics::NameNn,
            Topics::NameEn,
            Topics::DescriptionNb,
            Topics::DescriptionNn,
            Topics::DescriptionEn,
            Topics::Category,
            Topics::InScope,
            Topics::SortOrder,
            Topics::SearchText,
            Topics::Version,
            Topics::CreatedAt,
            Topics::UpdatedAt,
        ])
        .to_owned();
    for (i, topic) in REFERENCE_TOPICS.iter().enumerate() {
        // The same folding the API applies: every name and description, lower-cased in Rust
        // (SQLite's LOWER leaves æ, ø and å alone).
        let search_text = topic
            .name
            .iter()
            .chain(&topic.description)
            .copied()
            .collect::<Vec<_>>()
            .join("\n")
            .to_lowercase();
        let [name_nb, name_nn, name_en] = topic.name;
        let [description_nb, description_nn, description_en] = topic.description;
        insert.values_panic([
            topic.slug.into(),
            name_nb.into(),
            name_nn.into(),
            name_en.into(),
            description_nb.into(),
            description_nn.into(),
            description_en.into(),
            topic.category.into(),
            topic.in_scope.into(),
            (10 * (i as i32 + 1)).into(),
            search_text.into(),
            1.into(),
            loaded_at.into(),
            loaded_at.into(),
        ]);
    }
    manager.exec_stmt(insert).await
}
