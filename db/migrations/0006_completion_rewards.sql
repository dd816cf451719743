CREATE TABLE `completion_rewards` (
	`checkpoint_id` integer NOT NULL,
	`completion_id` integer NOT NULL,
	`reward` real NOT NULL,
	PRIMARY KEY(`checkpoint_id`, `completion_id`),
	FOREIGN KEY (`checkpoint_id`) REFERENCES `checkpoints`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`completion_id`) REFERENCES `completions`(`id`) ON UPDATE no action ON DELETE no action
);
