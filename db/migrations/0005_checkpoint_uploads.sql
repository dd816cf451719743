-- Numbered 0005, not 0004, so it cannot clash with another branch's 0004 (the files apply in name order).
CREATE TABLE `checkpoint_upload_parts` (
	`checkpoint_id` integer NOT NULL,
	`part_number` integer NOT NULL,
	`sha256` text NOT NULL,
	`size_bytes` integer NOT NULL,
	`etag` text NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`checkpoint_id`, `part_number`),
	FOREIGN KEY (`checkpoint_id`) REFERENCES `checkpoint_uploads`(`checkpoint_id`) ON UPDATE no action ON DELETE cascade,
	CONSTRAINT "checkpoint_upload_parts_number" CHECK("checkpoint_upload_parts"."part_number" >= 1),
	CONSTRAINT "checkpoint_upload_parts_sha256_hex" CHECK(length("checkpoint_upload_parts"."sha256") = 64)
);
--> statement-breakpoint
CREATE TABLE `checkpoint_uploads` (
	`checkpoint_id` integer PRIMARY KEY NOT NULL,
	`upload_id` text NOT NULL,
	`part_size` integer NOT NULL,
	`part_count` integer NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`checkpoint_id`) REFERENCES `checkpoints`(`id`) ON UPDATE no action ON DELETE cascade,
	CONSTRAINT "checkpoint_uploads_part_size" CHECK("checkpoint_uploads"."part_size" > 0 AND "checkpoint_uploads"."part_count" > 0)
);
